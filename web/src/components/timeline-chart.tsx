/**
 * The Gantt-style timeline of step attempts: one row per step, a bar per attempt coloured by how it
 * ended, hatched gaps for backoff before a retry, open-ended bars for what is still running.
 */
import { formatDuration, humanState } from '../lib/format.js';
import type { Timeline } from '../lib/timeline.js';

const ROW = 26;
const LABEL = 170;
const WIDTH = 760;

export function TimelineChart({ timeline }: { timeline: Timeline }) {
  const span = Math.max(1, timeline.end - timeline.start);
  const scale = (t: number) => LABEL + ((t - timeline.start) / span) * (WIDTH - LABEL - 10);
  const height = timeline.rows.length * ROW + 24;
  if (timeline.rows.every((r) => r.segments.length === 0)) {
    return <p class="muted">No step has started yet.</p>;
  }
  return (
    <div class="graph-scroll">
      <svg
        class="timeline"
        width={WIDTH}
        height={height}
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-label={`Timeline of step attempts over ${formatDuration(span)}`}
      >
        <defs>
          <pattern
            id="hatch"
            width="6"
            height="6"
            patternUnits="userSpaceOnUse"
            patternTransform="rotate(45)"
          >
            <line x1="0" y1="0" x2="0" y2="6" class="hatch-line" />
          </pattern>
        </defs>
        {timeline.rows.map((row, i) => (
          <g
            key={row.stepId}
            transform={`translate(0,${i * ROW})`}
            data-step={row.stepName}
            data-attempts={row.attempts}
          >
            <text x="4" y="17" class="row-label">
              {row.stepName.length > 22 ? `${row.stepName.slice(0, 21)}…` : row.stepName}
            </text>
            {row.segments.map((s) => {
              const x = scale(s.start);
              const w = Math.max(2, scale(s.end) - x);
              const cls =
                s.kind === 'backoff'
                  ? 'seg backoff'
                  : `seg attempt outcome-${s.open ? 'running' : (s.outcome ?? 'none')}`;
              const what =
                s.kind === 'backoff'
                  ? `backoff after attempt ${s.attempt}`
                  : `attempt ${s.attempt}: ${s.open ? 'running' : humanState(s.outcome ?? 'unknown')}`;
              return (
                <rect
                  key={`${s.kind}-${s.start}`}
                  class={cls}
                  x={x}
                  y="5"
                  width={w}
                  height={ROW - 10}
                  rx="3"
                  data-kind={s.kind}
                  data-outcome={s.outcome ?? ''}
                >
                  <title>{`${row.stepName} ${what} (${formatDuration(s.end - s.start)})`}</title>
                </rect>
              );
            })}
          </g>
        ))}
        <text x={LABEL} y={height - 6} class="axis">
          0
        </text>
        <text x={WIDTH - 10} y={height - 6} class="axis" text-anchor="end">
          {formatDuration(span)}
        </text>
      </svg>
      <p class="legend">
        <span class="key attempt outcome-complete" /> attempt succeeded{' '}
        <span class="key attempt outcome-waiting_for_retry" /> attempt failed, retried{' '}
        <span class="key backoff" /> backoff <span class="key attempt outcome-error" /> failed for good{' '}
        <span class="key attempt outcome-running" /> running
      </p>
    </div>
  );
}
