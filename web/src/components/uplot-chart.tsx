/**
 * A uPlot chart (a small canvas charting library: fast with a lot of data, legible with little) in a
 * Preact component: created on mount, given new data on update, resized with its container, destroyed on
 * unmount. `describe` is the chart's text for screen readers (and a fallback when there is no data).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function UPlotChart({
  options,
  data,
  describe,
  height = 200,
}: {
  options: Omit<Options, 'width' | 'height'>;
  data: AlignedData;
  describe: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt when its options change; data updates go through setData
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const plot = new uPlot({ ...options, width: Math.max(200, el.clientWidth), height }, data, el);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={box} class="uplot-box" role="img" aria-label={describe} />;
}
