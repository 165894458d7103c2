/**
 * The observability module's analytics answers (GET /tasker/analytics/performance and /bottlenecks), when
 * the server mounts them. Known fields are shown by name; an answer of another shape falls back to a
 * plain table so a newer server still shows something.
 */
import { formatDuration } from '../lib/format.js';

type Row = Record<string, unknown>;
const isRow = (v: unknown): v is Row => !!v && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The server's durations over its own window. Its error rate and "health score" are left out: the
 * overview shows one error rate (of the chart's window), and the score is a weighted blend no one
 * can read (0.7 × completion rate + 0.3 × (1 − error rate)); plain counts say more.
 */
export function PerformanceSummary({ value }: { value: unknown }) {
  const metrics = isRow(value) && isRow(value.metrics) ? value.metrics : null;
  if (!metrics) return <GenericTable value={value} caption="Server performance analytics" />;
  const period = isRow(value) ? num(value.periodHours) : null;
  const secs = (v: unknown) => (num(v) === null ? '–' : formatDuration(num(v)! * 1000));
  const window = period === null ? 'its window' : period === 1 ? 'the last hour' : `the last ${period} h`;
  return (
    <>
      <h3>Durations (server, over {window})</h3>
      <dl class="summary" data-analytics="performance">
        <dt>Task, creation to completion</dt>
        <dd>
          {secs(metrics.avgTaskDuration)} on average
          <span class="muted"> ({String(metrics.completionCount ?? 0)} complete)</span>
        </dd>
        <dt>Step attempt</dt>
        <dd>
          {secs(metrics.avgStepDuration)} on average
          <span class="muted"> ({String(metrics.stepThroughput ?? 0)} steps complete)</span>
        </dd>
      </dl>
    </>
  );
}

export function SlowestSteps({ value }: { value: unknown }) {
  const steps = isRow(value) && Array.isArray(value.slowestSteps) ? value.slowestSteps.filter(isRow) : null;
  if (!steps) return <GenericTable value={value} caption="Bottlenecks" />;
  if (steps.length === 0) return <p class="muted">No step has finished in the period.</p>;
  return (
    <table class="slowest" data-analytics="bottlenecks">
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">Template</th>
          <th scope="col">Took</th>
          <th scope="col">Attempts</th>
        </tr>
      </thead>
      <tbody>
        {steps.slice(0, 10).map((s) => (
          <tr key={String(s.stepId)}>
            <td>
              <a href={`#/tasks/${String(s.taskId)}`}>{String(s.stepName)}</a>
            </td>
            <td>
              {String(s.namespace)}/{String(s.taskName)} <span class="muted">v{String(s.version)}</span>
            </td>
            <td>{num(s.durationSeconds) === null ? '–' : formatDuration(num(s.durationSeconds)! * 1000)}</td>
            <td>
              {String(s.attempts ?? '–')}/{String(s.retryLimit ?? '–')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A table for answers of unknown shape: rows of objects, primitive cells. */
export function GenericTable({ value, caption }: { value: unknown; caption: string }) {
  const rows = rowsOf(value).slice(0, 10);
  if (rows.length === 0) return <p class="muted">Nothing to show yet.</p>;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) =>
    rows.some((r) => r[k] === null || typeof r[k] !== 'object'),
  );
  return (
    <table class="generic">
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a snapshot of rows that is replaced, never reordered
          <tr key={i}>
            {columns.map((c) => (
              <td key={c}>{cell(r[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function rowsOf(value: unknown): Row[] {
  if (Array.isArray(value)) return value.filter(isRow);
  if (isRow(value)) {
    const list = Object.values(value).find((v) => Array.isArray(v) && v.some(isRow));
    if (Array.isArray(list)) return list.filter(isRow);
    return [value];
  }
  return [];
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'object') return '';
  return String(v);
}
