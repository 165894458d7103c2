/**
 * Overview: counts by state (/health/status), tasks created and finished over time with throughput and
 * error rate (rebuilt from the latest 500 tasks), the step queue (what will run, what waits, what is
 * blocked below a failure), live workers, the slowest steps and average durations (from the analytics
 * endpoints when the server mounts them) and a feed of recent events. Refreshed on live events and every
 * few seconds.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import { type HealthStatus, type LiveEvent, type StepQueue, TASK_STATES, type Task } from '../api/types.js';
import { PerformanceSummary, SlowestSteps } from '../components/analytics.js';
import { HistoryChart } from '../components/history-chart.js';
import {
  DurationsChart,
  type DurationsValue,
  ThroughputChart,
  type ThroughputValue,
} from '../components/throughput-charts.js';
import { ErrorBanner, LiveIndicator, Section, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import { formatDuration, formatTime, humanState } from '../lib/format.js';
import { historyOf, type Rates, ratesOf } from '../lib/series.js';

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
  const throughput = useAsync(() => api.optional<ThroughputValue>('/analytics/throughput?period=24'), [now]);
  const durations = useAsync(() => api.optional<DurationsValue>('/analytics/step-durations?period=1'), [now]);
  const history = useMemo(() => (recent ? historyOf(recent, now) : null), [recent, now]);
  const rates = history ? ratesOf(history) : null;
  const byState = status?.tasks?.byState ?? {};

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
        <Section title="Finished tasks, last 24 hours" id="throughput">
          {throughput.data ? (
            <ThroughputChart value={throughput.data} />
          ) : throughput.loading ? (
            <p>Loading…</p>
          ) : (
            <p class="muted">This server does not offer /tasker/analytics/throughput.</p>
          )}
        </Section>
        <Section title="Step durations, last hour" id="durations">
          {durations.data ? (
            <DurationsChart value={durations.data} />
          ) : durations.loading ? (
            <p>Loading…</p>
          ) : null}
        </Section>
        <Section title="Throughput and errors" id="rates">
          <RatesSummary rates={rates} />
          <h3>Steps now</h3>
          <QueueSummary status={status} />
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

function RatesSummary({ rates }: { rates: Rates | null }) {
  if (!rates) return <p>Loading…</p>;
  return (
    <>
      <dl class="summary">
        <dt>Finished</dt>
        <dd data-throughput>
          {rates.finished} ({rates.throughputPerMin.toFixed(2)} per minute)
        </dd>
        <dt>Error rate</dt>
        <dd>
          <span data-error-rate>
            {rates.errorRate === null ? '–' : `${(rates.errorRate * 100).toFixed(1)} %`}
          </span>
          {rates.errorRate === null ? null : (
            <span class="muted">
              {' '}
              ({rates.failed} of {rates.finished} in error)
            </span>
          )}
        </dd>
      </dl>
      <p class="muted note">
        Over the chart's last {formatDuration(rates.windowMs)}: tasks that finished complete or in error
        (cancelled ones count in neither).
      </p>
    </>
  );
}

/** The step queue from /health/status; an older server sends only counts by state. */
function QueueSummary({ status }: { status: HealthStatus | null }) {
  const queue = status?.queue;
  if (!queue) {
    const steps = status?.steps?.byState ?? {};
    return (
      <dl class="summary">
        <dt>Pending or waiting for retry</dt>
        <dd>{(steps.pending ?? 0) + (steps.waiting_for_retry ?? 0)} (steps of failed tasks included)</dd>
        <dt>Running</dt>
        <dd>{steps.in_progress ?? 0}</dd>
      </dl>
    );
  }
  const rows: Array<[keyof StepQueue, string]> = [
    ['ready', 'Ready to run'],
    ['running', 'Running'],
    ['waitingForRetry', 'Waiting out a retry backoff'],
    ['waitingForParents', 'Waiting for their parents'],
    ['blocked', 'Blocked by a failed step'],
  ];
  return (
    <dl class="summary queue">
      {rows.map(([key, label]) => [
        <dt key={`${key}-t`}>{label}</dt>,
        <dd key={`${key}-d`} data-queue={key}>
          {queue[key] ?? 0}
          {key === 'blocked' && (queue.blocked ?? 0) > 0 ? (
            <span class="muted"> (they run only if the failed step is retried or resolved)</span>
          ) : null}
        </dd>,
      ])}
    </dl>
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
            <td title={`worker ${text(w.id)}`}>
              {text(w.name)}
              {typeof w.hostname === 'string' && !text(w.name).startsWith(`${w.hostname}:`) ? (
                <span class="muted"> on {w.hostname}</span>
              ) : null}
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
