/**
 * Tasks over time as bars: per interval, the tasks created (outlined) and the tasks finished, stacked by
 * outcome. Axes are labelled (a whole-number count, clock times); a bar is a count, so a few tasks read
 * as a few bars rather than a zigzag. Drawn with plain SVG until the dashboard takes a charting library.
 */
import { formatDuration, formatInterval } from '../lib/format.js';
import { chartLayout, type History, OUTCOMES } from '../lib/series.js';

const WIDTH = 520;
const HEIGHT = 200;
const LEFT = 36;
const RIGHT = 8;
const TOP = 20;
const BOTTOM = 34;

function clock(at: number, bucketMs: number): string {
  const d = new Date(at);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return bucketMs < 60_000 ? `${hm}:${String(d.getSeconds()).padStart(2, '0')}` : hm;
}

export function HistoryChart({ history }: { history: History }) {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const layout = chartLayout(history, plotW, plotH);
  const { totals } = layout;
  const every = formatInterval(history.bucketMs);
  const window = formatDuration(history.now - history.start);
  if (totals.created + totals.complete + totals.error + totals.cancelled === 0) {
    return <p class="muted">No task was created or finished in the last {window}.</p>;
  }
  return (
    <figure class="history">
      <svg
        class="chart"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Tasks per ${every} over the last ${window}: ${totals.created} created, ${totals.complete} complete, ${totals.error} in error, ${totals.cancelled} cancelled`}
      >
        <g transform={`translate(${LEFT},${TOP})`}>
          {layout.yTicks.map((t) => (
            <g key={t.value} class="tick y">
              <line x1={0} x2={plotW} y1={t.y} y2={t.y} class="grid-line" />
              <text x={-6} y={t.y + 4} text-anchor="end" class="axis">
                {t.value}
              </text>
            </g>
          ))}
          {layout.bars.map((bar) => (
            <g key={bar.at} data-bucket={bar.at}>
              {bar.created.count > 0 ? (
                <rect
                  class="bar created"
                  x={bar.x}
                  y={bar.created.y}
                  width={bar.width}
                  height={bar.created.height}
                  data-count={bar.created.count}
                >
                  <title>{`${clock(bar.at, history.bucketMs)}: ${bar.created.count} created`}</title>
                </rect>
              ) : null}
              {bar.finished.map((part) => (
                <rect
                  key={part.name}
                  class={`bar state-${part.name}`}
                  x={bar.x + bar.width + 1}
                  y={part.y}
                  width={bar.width}
                  height={part.height}
                  data-series={part.name}
                  data-count={part.count}
                >
                  <title>{`${clock(bar.at, history.bucketMs)}: ${part.count} ${part.name === 'error' ? 'in error' : part.name}`}</title>
                </rect>
              ))}
            </g>
          ))}
          <line x1={0} x2={plotW} y1={plotH} y2={plotH} class="axis-line" />
          {layout.xTicks.map((t) => (
            <g key={t.at} class="tick x">
              <line x1={t.x} x2={t.x} y1={plotH} y2={plotH + 4} class="axis-line" />
              <text x={t.x} y={plotH + 16} text-anchor="middle" class="axis">
                {clock(t.at, history.bucketMs)}
              </text>
            </g>
          ))}
          <text x={-LEFT + 2} y={-8} class="axis axis-title">
            tasks
          </text>
          <text x={plotW} y={plotH + 30} text-anchor="end" class="axis axis-title">
            time (each bar: {every})
          </text>
        </g>
      </svg>
      <figcaption class="legend">
        Over the last {window}: <span class="key bar-key created" /> created {totals.created}
        {OUTCOMES.map((name) => (
          <span key={name}>
            {' '}
            <span class={`key state-${name}`} /> {name === 'error' ? 'in error' : name} {totals[name]}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
