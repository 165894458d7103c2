/**
 * Overview: tasks by state over time (sampled from /health/status while the page is open, and on every
 * live event), throughput and error rate, ready-queue depth, live workers, the slowest steps (from the
 * analytics endpoints when the server mounts them) and a feed of recent events.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import { type HealthStatus, type LiveEvent, TASK_STATES } from '../api/types.js';
import { ErrorBanner, LiveIndicator, Section, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import { humanState } from '../lib/format.js';
import { addSample, chartLines, ratesOf, type Sample } from '../lib/series.js';

const POLL_MS = 5000;

export function OverviewPage() {
  const api = useApi();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [status, setStatus] = useState<HealthStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [feed, setFeed] = useState<Array<Exclude<LiveEvent, { kind: 'resync' }> & { at: number }>>([]);

  const refresh = useThrottled(() => {
    api.healthStatus().then(
      (s) => {
        setStatus(s);
        setError(null);
        setSamples((prev) => addSample(prev, { at: Date.now(), byState: { ...(s.tasks?.byState ?? {}) } }));
      },
      (err: unknown) => setError(err),
    );
  }, 1000);
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  const live = useLive('/events', (event) => {
    if (event.kind === 'resync') return refresh();
    setFeed((f) => [{ ...event, at: Date.now() }, ...f].slice(0, 15));
    if (event.kind === 'task') refresh();
  });

  const performance = useAsync(() => api.optional<unknown>('/analytics/performance'), []);
  const bottlenecks = useAsync(() => api.optional<unknown>('/analytics/bottlenecks'), []);
  const rates = useMemo(() => ratesOf(samples), [samples]);
  const byState = status?.tasks?.byState ?? {};
  const steps = status?.steps?.byState ?? {};
  const readyDepth = typeof status?.readyQueue === 'number' ? status.readyQueue : null;

  return (
    <div class="page">
      <div class="page-head">
        <h1>Overview</h1>
        <LiveIndicator status={live} />
      </div>
      <ErrorBanner error={error} title="Could not read the server's status" />
      <div class="tiles">
        {TASK_STATES.map((s) => (
          <a key={s} class={`tile state-${s}`} href={`#/tasks?state=${s}`} data-state={s}>
            <span class="tile-value">{byState[s] ?? 0}</span>
            <span class="tile-label">{humanState(s)}</span>
          </a>
        ))}
      </div>
      <div class="grid">
        <Section title="Tasks by state over time" id="history">
          <StateChart samples={samples} />
        </Section>
        <Section title="Throughput and errors" id="rates">
          <dl class="summary">
            <dt>Finished per minute</dt>
            <dd>{rates.throughputPerMin === null ? 'measuring…' : rates.throughputPerMin.toFixed(1)}</dd>
            <dt>Error rate</dt>
            <dd>{rates.errorRate === null ? '–' : `${(rates.errorRate * 100).toFixed(1)} %`}</dd>
            <dt>Ready queue</dt>
            <dd>
              {readyDepth !== null
                ? readyDepth
                : `${(steps.pending ?? 0) + (steps.waiting_for_retry ?? 0)} pending or waiting for retry`}
            </dd>
            <dt>Running steps</dt>
            <dd>{steps.in_progress ?? 0}</dd>
          </dl>
          <p class="muted">Measured in this browser from the status counts since the page opened.</p>
          {performance.data ? (
            <GenericTable value={performance.data} caption="Server performance analytics" />
          ) : null}
        </Section>
        <Section title="Workers" id="workers">
          <Workers workers={status?.workers ?? []} />
        </Section>
        <Section title="Slowest steps" id="slowest">
          {bottlenecks.error instanceof ApiError ? <ErrorBanner error={bottlenecks.error} /> : null}
          {bottlenecks.data ? (
            <GenericTable value={bottlenecks.data} caption="Bottlenecks" />
          ) : bottlenecks.loading ? (
            <p>Loading…</p>
          ) : (
            <p class="muted">This server does not offer /tasker/analytics/bottlenecks.</p>
          )}
        </Section>
        <Section title="Recent events" id="feed">
          {feed.length === 0 ? <p class="muted">Waiting for events…</p> : null}
          <ul class="feed">
            {feed.map((e) => (
              <li key={`${e.kind}-${e.id}-${e.state}-${e.at}`}>
                <a href={`#/tasks/${e.kind === 'task' ? e.id : e.taskId}`}>
                  {e.kind === 'task'
                    ? `task #${e.id} ${e.namespace}/${e.name}`
                    : `step ${e.name} of #${e.taskId}`}
                </a>{' '}
                <StateBadge state={e.state} />
              </li>
            ))}
          </ul>
        </Section>
      </div>
    </div>
  );
}

function StateChart({ samples }: { samples: readonly Sample[] }) {
  const width = 460;
  const height = 140;
  const lines = chartLines(samples, TASK_STATES, width, height);
  if (samples.length < 2) return <p class="muted">Collecting samples every {POLL_MS / 1000} s…</p>;
  return (
    <figure>
      <svg
        class="chart"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="Task counts by state over time"
      >
        {lines.map((l) => (
          <polyline key={l.state} class={`line state-${l.state}`} points={l.points} />
        ))}
      </svg>
      <figcaption class="legend">
        {lines.map((l) => (
          <span key={l.state}>
            <span class={`key state-${l.state}`} /> {humanState(l.state)} {l.last}{' '}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

function Workers({ workers }: { workers: ReadonlyArray<Readonly<Record<string, unknown>>> }) {
  if (workers.length === 0) return <p class="muted">No worker has reported recently.</p>;
  return <GenericTable value={workers} caption="Workers seen recently" />;
}

/** A table for analytics whose exact shape belongs to another module: rows of objects, primitive cells. */
function GenericTable({ value, caption }: { value: unknown; caption: string }) {
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

function rowsOf(value: unknown): Array<Record<string, unknown>> {
  const isRow = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === 'object' && !Array.isArray(v);
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
