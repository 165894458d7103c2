/**
 * Charts of the overview, drawn with uPlot from the server's analytics: finished tasks per time bucket
 * with the failure rate over the last day, and how long successful step attempts took over the last
 * hour (a histogram on power-of-two buckets). Empty buckets are drawn as zeros, so a quiet system reads
 * as a quiet chart rather than as a line through two points.
 */
import { useMemo } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import { formatDuration } from '../lib/format.js';
import { UPlotChart } from './uplot-chart.js';

export interface ThroughputValue {
  bucketMs: number;
  since: string;
  buckets: Array<{ at: string; completed: number; failed: number; cancelled: number }>;
}

export interface DurationsValue {
  buckets: Array<{ upToMs: number; count: number }>;
}

const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
// Completed and failed side by side in their bucket (left and right half), not drawn over each other.
const leftBars = uPlot.paths.bars?.({ size: [0.45, 20], align: -1 });
const rightBars = uPlot.paths.bars?.({ size: [0.45, 20], align: 1 });

/** Every bucket from `since` to now, zeros where nothing finished. */
export function throughputData(value: ThroughputValue, now = Date.now()): AlignedData {
  const start = Date.parse(value.since);
  const byAt = new Map(value.buckets.map((b) => [Date.parse(b.at), b]));
  const xs: number[] = [];
  const completed: number[] = [];
  const failed: number[] = [];
  const rate: Array<number | null> = [];
  for (let at = start; at <= now; at += value.bucketMs) {
    const b = byAt.get(at);
    xs.push(at / 1000);
    completed.push(b?.completed ?? 0);
    failed.push(b?.failed ?? 0);
    const done = (b?.completed ?? 0) + (b?.failed ?? 0);
    rate.push(done === 0 ? null : (100 * (b?.failed ?? 0)) / done);
  }
  return [xs, completed, failed, rate];
}

export function ThroughputChart({ value }: { value: ThroughputValue }) {
  const data = useMemo(() => throughputData(value), [value]);
  const options = useMemo<Omit<Options, 'width' | 'height'>>(
    () => ({
      scales: {
        x: { time: true },
        n: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        pct: { range: [0, 100] },
      },
      axes: [
        {},
        {
          scale: 'n',
          label: `tasks per ${formatDuration(value.bucketMs)}`,
          values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')),
        },
        { scale: 'pct', side: 1, label: 'failure rate %', grid: { show: false } },
      ],
      series: [
        {},
        {
          label: 'completed',
          scale: 'n',
          stroke: '#1a7f37',
          fill: 'rgba(26,127,55,0.35)',
          paths: leftBars,
          points: { show: false },
        },
        {
          label: 'failed',
          scale: 'n',
          stroke: '#cf222e',
          fill: 'rgba(207,34,46,0.45)',
          paths: rightBars,
          points: { show: false },
        },
        {
          label: 'failure rate',
          scale: 'pct',
          stroke: '#9a6700',
          width: 2,
          spanGaps: true,
          value: (_u, v) => (v == null ? '-' : `${v.toFixed(0)} %`),
        },
      ],
      legend: { live: true },
    }),
    [value.bucketMs],
  );
  const total = (data[1] as number[]).reduce((a, b) => a + b, 0);
  const failed = (data[2] as number[]).reduce((a, b) => a + b, 0);
  return (
    <UPlotChart
      options={options}
      data={data}
      describe={`${total} tasks completed and ${failed} failed in the period, per ${formatDuration(value.bucketMs)}`}
    />
  );
}

const durationLabel = (ms: number) => (ms < 1000 ? `≤${ms} ms` : `≤${formatDuration(ms)}`);

export function DurationsChart({ value }: { value: DurationsValue }) {
  const data = useMemo<AlignedData>(() => {
    if (value.buckets.length === 0) return [[], []];
    // Every power of two between the fastest and the slowest bucket, zeros included.
    const lo = Math.log2(value.buckets[0]!.upToMs);
    const hi = Math.log2(value.buckets.at(-1)!.upToMs);
    const counts = new Map(value.buckets.map((b) => [Math.log2(b.upToMs), b.count]));
    const xs: number[] = [];
    const ys: number[] = [];
    for (let e = lo; e <= hi; e++) {
      xs.push(e);
      ys.push(counts.get(e) ?? 0);
    }
    return [xs, ys];
  }, [value]);
  const options = useMemo<Omit<Options, 'width' | 'height'>>(
    () => ({
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        {
          values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? durationLabel(2 ** t) : '')),
          label: 'attempt took',
        },
        {
          label: 'step attempts',
          values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')),
        },
      ],
      series: [
        { label: 'took', value: (_u, v) => (v == null ? '-' : durationLabel(2 ** v)) },
        {
          label: 'attempts',
          stroke: '#0969da',
          fill: 'rgba(9,105,218,0.35)',
          paths: bars,
          points: { show: false },
        },
      ],
    }),
    [],
  );
  if (value.buckets.length === 0) return <p class="muted">No step succeeded in the last hour.</p>;
  const total = value.buckets.reduce((a, b) => a + b.count, 0);
  return (
    <UPlotChart
      options={options}
      data={data}
      describe={`${total} successful step attempts by how long they took`}
    />
  );
}
