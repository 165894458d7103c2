/**
 * Overview: counts by state (/health/status), tasks created, running and finished over time with
 * throughput and error rate (rebuilt from the latest 500 tasks), steps waiting and running, live workers,
 * the slowest steps (from the analytics endpoints when the server mounts them) and a feed of recent
 * events. Refreshed on live events and every few seconds.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import { type HealthStatus, type LiveEvent, TASK_STATES, type Task } from '../api/types.js';
import { PerformanceSummary, SlowestSteps } from '../components/analytics.js';
import { ErrorBanner, LiveIndicator, Section, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import { formatDuration, formatTime, humanState } from '../lib/format.js';
import { chartLines, type History, historyOf, ratesOf, SERIES } from '../lib/series.js';

const POLL_MS = 10_000;

export function OverviewPage() {
  const api = useApi();
  const [recent, setRecent] = useState<readonly Task[] | null>(null);
  const [now, setNow] = useState(Date.now());
  const [status, setStatus] = useState<HealthStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [feed, setFeed] = useState<Array<Exclude<LiveEvent, { kind: 'resync' }> & { at: number }>>([]);

  const refresh = useThrottled(() => {
    api.healthStatus().then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (err: unknown) => setError(err),
    );
    api.listTasks({ limit: 500 }).then(
      (page) => {
        setRecent(page.items);
        setNow(Date.now());
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
  const history = useMemo(() => (recent ? historyOf(recent, now) : null), [recent, now]);
  const rates = history ? ratesOf(history) : null;
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
        <Section title="Tasks over time" id="history">
          {history ? <HistoryChart history={history} /> : <p>Loading…</p>}
        </Section>
        <Section title="Throughput and errors" id="rates">
          <dl class="summary">
            <dt>Finished per minute</dt>
            <dd data-throughput>{rates ? rates.throughputPerMin.toFixed(2) : '–'}</dd>
            <dt>Error rate</dt>
            <dd data-error-rate>
              {rates?.errorRate == null ? '–' : `${(rates.errorRate * 100).toFixed(1)} %`}
            </dd>
            <dt>Ready queue</dt>
            <dd>
              {readyDepth !== null
                ? readyDepth
                : `${(steps.pending ?? 0) + (steps.waiting_for_retry ?? 0)} pending or waiting for retry`}
            </dd>
            <dt>Running steps</dt>
            <dd>{steps.in_progress ?? 0}</dd>
          </dl>
          <p class="muted">
            Over the chart's window, from the latest {recent?.length ?? 0} tasks. Ready queue: steps that can
            run now or after a backoff (blocked steps included).
          </p>
          {performance.data ? <PerformanceSummary value={performance.data} /> : null}
        </Section>
        <Section title="Workers" id="workers">
          <Workers workers={status?.workers ?? []} />
        </Section>
        <Section title="Slowest steps" id="slowest">
          {bottlenecks.error instanceof ApiError ? <ErrorBanner error={bottlenecks.error} /> : null}
          {bottlenecks.data ? (
            <SlowestSteps value={bottlenecks.data} />
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

function HistoryChart({ history }: { history: History }) {
  const width = 460;
  const height = 140;
  const lines = chartLines(history, SERIES, width, height);
  const seriesClass = (name: string) =>
    name === 'created' ? 'none' : name === 'active' ? 'in_progress' : name;
  return (
    <figure>
      <svg
        class="chart"
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Tasks created, active and finished per ${formatDuration(history.bucketMs)}`}
      >
        {lines.map((l) => (
          <polyline
            key={l.name}
            class={`line state-${seriesClass(l.name)}`}
            points={l.points}
            data-series={l.name}
          />
        ))}
      </svg>
      <figcaption class="legend">
        Per {formatDuration(history.bucketMs)} over the last{' '}
        {formatDuration(history.bucketMs * history.buckets.length)}:{' '}
        {lines.map((l) => (
          <span key={l.name}>
            <span class={`key state-${seriesClass(l.name)}`} />{' '}
            {l.name === 'active' ? 'active in the last interval' : l.name} {l.total}{' '}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

function Workers({ workers }: { workers: ReadonlyArray<Readonly<Record<string, unknown>>> }) {
  if (workers.length === 0) return <p class="muted">No worker has reported recently.</p>;
  const text = (v: unknown) =>
    v === null || v === undefined ? '–' : Array.isArray(v) ? v.join(', ') || 'all' : String(v);
  return (
    <table class="workers">
      <thead>
        <tr>
          <th scope="col">Worker</th>
          <th scope="col">Concurrency</th>
          <th scope="col">Namespaces</th>
          <th scope="col">Last heartbeat</th>
        </tr>
      </thead>
      <tbody>
        {workers.map((w) => (
          <tr key={text(w.id)} data-worker={text(w.id)}>
            <td>
              {text(w.name)} <span class="muted">{text(w.hostname)}</span>
            </td>
            <td>{text(w.concurrency)}</td>
            <td>{w.namespaces == null ? 'all' : text(w.namespaces)}</td>
            <td>{typeof w.lastHeartbeatAt === 'string' ? formatTime(w.lastHeartbeatAt) : '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
