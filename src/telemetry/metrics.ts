/**
 * Prometheus metrics, in a registry of this Tasker instance (never prom-client's global one, so several
 * instances and the host application's own metrics do not mix).
 *
 * Counters and histograms count what happens in THIS process (events emitted here); a deployment of
 * several processes is right when Prometheus scrapes each one and sums. Gauges named `tasker_queue_*`,
 * `tasker_tasks`, `tasker_steps` and `tasker_live_workers` are read from the database at scrape time and describe the whole cluster: every
 * process reports the same value (aggregate them with max, not sum).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import type { TaskerEventBus } from '../events/tasker-events.js';
import type { Logger } from '../model/logger.js';
import { STEP_STATES, TASK_STATES } from '../model/states.js';
import { BufferedHistogram } from './buffered-histogram.js';

/** Seconds, from 5 ms to 5 minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const TEMPLATE = ['namespace', 'name', 'version'] as const;

export interface ClusterGauges {
  readonly readySteps: number;
  readonly oldestReadyAgeSeconds: number;
  readonly inProgressSteps: number;
  readonly liveWorkers: number;
  /** Seconds the longest-running task has been in progress; 0 when none. */
  readonly oldestRunningTaskAgeSeconds: number;
  /** Tasks by state, exact (maintained counts; docs/observability.md). */
  readonly tasksByState: Readonly<Record<string, number>>;
  /** Steps by state, exact. */
  readonly stepsByState: Readonly<Record<string, number>>;
  /** Ready steps parked on a full concurrency key (docs/flow-control.md). */
  readonly waitingForKeySteps: number;
  /** Steps parked until their batch, child task or signal (docs/workflows.md). */
  readonly waitingSteps: { readonly batch: number; readonly child: number; readonly signal: number };
  /** Each rate limit's bucket (docs/flow-control.md#rate-limits). */
  readonly rateLimits: ReadonlyArray<{
    readonly name: string;
    readonly tokens: number;
    readonly effectiveRate: number;
    readonly deferrals: number;
    readonly limited: number;
  }>;
}

export interface MetricsSources {
  readonly database: () => Database;
  /** Steps running in this process's workers. */
  readonly inFlightSteps: () => number;
  /** Workers running in this process. */
  readonly localWorkers: () => number;
  /** Cluster-wide figures from the database (one cheap query per scrape). */
  readonly clusterGauges: () => Promise<ClusterGauges>;
  readonly logger: Logger;
}

export interface TaskerMetrics {
  readonly registry: Registry;
  readonly subscriberErrors: Counter<'event'>;
  /** Subscribes the counters and histograms to the event bus. */
  attach(events: TaskerEventBus): () => void;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
}

export function createMetrics(
  sources: MetricsSources,
  defaultLabels: Readonly<Record<string, string>>,
): TaskerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ ...defaultLabels });
  const registers = [registry];

  // The counters of every task and step (created, completed) count in plain numbers and hand them to
  // prom-client when the registry is read: prom-client validates and hashes the labels on every
  // increment, even on a labelled child, which cost more than the rest of handling the event.
  const unflushed = new Set<LocalCount>();
  const flushCounts = (): void => {
    for (const c of unflushed) {
      c.series.inc(c.n);
      c.n = 0;
    }
    unflushed.clear();
  };
  const localCount = (series: { inc(value: number): void }): LocalCount => ({
    n: 0,
    series,
    inc() {
      if (this.n++ === 0) unflushed.add(this);
    },
  });
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    counted: 'here' | 'locally' = 'here',
  ) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      // Read after its collect: the local counts are in before the counter is.
      ...(counted === 'locally' ? { collect: flushCounts } : {}),
    });
  const tasksCreated = counter('tasker_tasks_created_total', 'Tasks created.', TEMPLATE, 'locally');
  const tasksCompleted = counter(
    'tasker_tasks_completed_total',
    'Tasks that completed.',
    TEMPLATE,
    'locally',
  );
  const tasksFailed = counter('tasker_tasks_failed_total', 'Tasks that finished in error.', TEMPLATE);
  const tasksCancelled = counter('tasker_tasks_cancelled_total', 'Tasks cancelled.', TEMPLATE);
  const stepOutcomes = counter(
    'tasker_step_outcomes_total',
    'Recorded step attempts by outcome (completed, retry, failed).',
    [...TEMPLATE, 'step', 'outcome'],
    'locally',
  );
  const stepRetries = counter('tasker_step_retries_total', 'Failed step attempts that will be retried.', [
    ...TEMPLATE,
    'step',
  ]);
  const stepTimeouts = counter('tasker_step_timeouts_total', 'Step attempts that timed out.', [
    ...TEMPLATE,
    'step',
  ]);
  const refused = counter(
    'tasker_step_outcomes_refused_total',
    'Outcomes not recorded: the lease was lost.',
    [],
  );
  const reclaimed = counter(
    'tasker_steps_reclaimed_total',
    'Steps this process took back from workers whose heartbeat was older than their lease.',
    [],
  );
  const scheduleFires = counter(
    'tasker_schedule_fires_total',
    'Tasks schedules created in this process, by schedule (manual: run now).',
    ['schedule', 'manual'],
  );
  const scheduleLateFires = counter(
    'tasker_schedule_late_fires_total',
    'Schedule ticks this process fired more than 5 s after their time.',
    ['schedule'],
  );
  const scheduleSkipped = counter(
    'tasker_schedule_skipped_ticks_total',
    'Schedule ticks skipped by their catch-up policy (after a pause or downtime).',
    ['schedule'],
  );
  const stepWaits = counter(
    'tasker_step_waits_total',
    'Steps this process left waiting for a child task or a batch (for: child or batch).',
    [...TEMPLATE, 'step', 'for'],
  );
  const decisionSkips = counter(
    'tasker_decision_skipped_steps_total',
    'Steps below decision steps that this process recorded as not chosen (by decision step).',
    [...TEMPLATE, 'step'],
  );
  const pruned = counter(
    'tasker_pruned_tasks_total',
    'Finished tasks this process removed or archived (with their steps and audit trail), by trigger (retention or manual) and mode (delete or archive).',
    ['trigger', 'mode'],
  );
  const subscriberErrors = counter(
    'tasker_event_subscriber_errors_total',
    'Event subscribers that threw or rejected.',
    ['event'],
  );
  const taskDuration = new BufferedHistogram({
    name: 'tasker_task_duration_seconds',
    help: 'From task creation to completion or failure.',
    labelNames: [...TEMPLATE, 'state'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const stepDuration = new BufferedHistogram({
    name: 'tasker_step_duration_seconds',
    help: 'Handler run time of a step attempt.',
    labelNames: [...TEMPLATE, 'step', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const handoff = new BufferedHistogram({
    name: 'tasker_step_handoff_latency_seconds',
    help: 'From a step becoming ready (or its retry time) to a worker starting it.',
    labelNames: ['namespace'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  new Gauge({
    name: 'tasker_steps_in_flight',
    help: "Steps running in this process's workers.",
    registers,
    collect() {
      this.set(sources.inFlightSteps());
    },
  });
  new Gauge({
    name: 'tasker_workers',
    help: 'Workers running in this process.',
    registers,
    collect() {
      this.set(sources.localWorkers());
    },
  });
  const pool = new Gauge({
    name: 'tasker_db_pool_connections',
    help: 'Database pool connections by state (total, idle, waiting = queued requests).',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = sources.database().poolStats();
      pool.set({ state: 'total' }, stats.total);
      pool.set({ state: 'idle' }, stats.idle);
      pool.set({ state: 'waiting' }, stats.waiting);
    },
  });
  new Gauge({
    name: 'tasker_db_pool_max_connections',
    help: 'Database pool size.',
    registers,
    collect() {
      this.set(sources.database().maxConnections);
    },
  });
  // Cluster gauges share one query per scrape.
  let cluster: Promise<ClusterGauges | null> | null = null;
  /** The scrape's one cluster query, shared by every cluster gauge (null when it failed). */
  const clusterOnce = (): Promise<ClusterGauges | null> => {
    cluster ??= sources.clusterGauges().catch((error) => {
      sources.logger.warn({ err: error }, 'metrics: cluster gauges unavailable');
      return null;
    });
    return cluster;
  };
  const clusterGauge = (name: string, help: string, pick: (g: ClusterGauges) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const g = await clusterOnce();
        if (g) this.set(pick(g));
      },
    });
  // Every known state is reported, 0 included, so that a series does not vanish when its count drops to 0.
  const byStateGauge = (
    name: string,
    help: string,
    states: readonly string[],
    pick: (g: ClusterGauges) => Readonly<Record<string, number>>,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers,
      async collect() {
        const g = await clusterOnce();
        if (!g) return;
        const counts = pick(g);
        for (const state of new Set([...states, ...Object.keys(counts)])) {
          this.set({ state }, counts[state] ?? 0);
        }
      },
    });
  const byLimitGauge = (
    name: string,
    help: string,
    pick: (l: ClusterGauges['rateLimits'][number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['limit'],
      registers,
      async collect() {
        const g = await clusterOnce();
        if (!g) return;
        this.reset();
        for (const l of g.rateLimits) this.set({ limit: l.name }, pick(l));
      },
    });
  byLimitGauge('tasker_rate_limit_tokens', 'Tokens a rate limit has now (whole cluster).', (l) => l.tokens);
  byLimitGauge(
    'tasker_rate_limit_effective_rate',
    'Units per second a rate limit gives now: its rate, lower for a minute after a 429.',
    (l) => l.effectiveRate,
  );
  byLimitGauge(
    'tasker_rate_limit_deferrals',
    'Times a step was deferred for tokens, since the limit was defined (whole cluster).',
    (l) => l.deferrals,
  );
  byLimitGauge(
    'tasker_rate_limit_limited',
    'Times a step reported a 429 for the limit, since it was defined (whole cluster).',
    (l) => l.limited,
  );
  clusterGauge(
    'tasker_queue_waiting_for_key_steps',
    'Ready steps parked until a concurrency key has a free slot (whole cluster).',
    (g) => g.waitingForKeySteps,
  );
  new Gauge({
    name: 'tasker_steps_waiting',
    help: "Steps parked until their batch's workers finish, their child task finishes or a signal comes (whole cluster).",
    labelNames: ['for'],
    registers,
    async collect() {
      const g = await clusterOnce();
      if (!g) return;
      for (const [kind, count] of Object.entries(g.waitingSteps)) this.set({ for: kind }, count);
    },
  });
  byStateGauge('tasker_tasks', 'Tasks by state (whole cluster, exact).', TASK_STATES, (g) => g.tasksByState);
  byStateGauge('tasker_steps', 'Steps by state (whole cluster, exact).', STEP_STATES, (g) => g.stepsByState);
  clusterGauge('tasker_queue_ready_steps', 'Steps ready to run now (whole cluster).', (g) => g.readySteps);
  clusterGauge(
    'tasker_queue_oldest_ready_age_seconds',
    'Age of the oldest ready step, 0 when none (whole cluster).',
    (g) => g.oldestReadyAgeSeconds,
  );
  clusterGauge(
    'tasker_oldest_running_task_age_seconds',
    'How long the longest-running task has been in progress, 0 when none (whole cluster).',
    (g) => g.oldestRunningTaskAgeSeconds,
  );
  clusterGauge('tasker_queue_in_progress_steps', 'Steps running (whole cluster).', (g) => g.inProgressSteps);
  clusterGauge(
    'tasker_live_workers',
    'Workers with a heartbeat within their lease (whole cluster).',
    (g) => g.liveWorkers,
  );

  // Events of the same millisecond share one timestamp string: parse it once.
  let lastStamp = '';
  let lastStampMs = 0;
  const stampMs = (iso: string): number => {
    if (iso !== lastStamp) {
      lastStamp = iso;
      lastStampMs = Date.parse(iso);
    }
    return lastStampMs;
  };
  /** Seconds from `from` to the event's ISO timestamp; null without a start. */
  const seconds = (from: Date | string | null | undefined, to: string) =>
    from
      ? Math.max(0, (stampMs(to) - (from instanceof Date ? from.getTime() : Date.parse(from))) / 1000)
      : null;

  return {
    registry,
    subscriberErrors,
    attach(events) {
      // The per-step series are looked up once per label set: prom-client hashes a label object on every
      // call (sorting its keys), which cost more than the counting itself at thousands of steps a second.
      const completedSeries = seriesCache((e: StepLabels) => ({
        outcome: localCount(stepOutcomes.labels({ ...labels(e), step: e.stepName, outcome: 'completed' })),
        duration: stepDuration.series({ ...labels(e), step: e.stepName, outcome: 'completed' }),
      }));
      const taskSeries = seriesCache((e: TemplateLabels) => ({
        completed: localCount(tasksCompleted.labels(labels(e))),
        duration: taskDuration.series({ ...labels(e), state: 'complete' }),
      }));
      const createdSeries = seriesCache((e: TemplateLabels) => localCount(tasksCreated.labels(labels(e))));
      const handoffSeries = new Map<string, { observe(value: number): void }>();
      const offs = [
        events.on('task.created', (e) => createdSeries(e).inc()),
        events.on('task.completed', (e) => {
          const series = taskSeries(e);
          series.completed.inc();
          const s = seconds(e.createdAt, e.timestamp);
          if (s !== null) series.duration.observe(s);
        }),
        events.on('task.failed', (e) => {
          tasksFailed.inc(labels(e));
          const s = seconds(e.createdAt, e.timestamp);
          if (s !== null) taskDuration.observe({ ...labels(e), state: 'error' }, s);
        }),
        events.on('task.cancelled', (e) => tasksCancelled.inc(labels(e))),
        events.on('step.execution_requested', (e) => {
          const s = seconds(e.readyAt, e.timestamp);
          if (s === null) return;
          let series = handoffSeries.get(e.namespace);
          if (!series) {
            series = handoff.series({ namespace: e.namespace });
            handoffSeries.set(e.namespace, series);
          }
          series.observe(s);
        }),
        events.on('step.completed', (e) => {
          const series = completedSeries(e);
          series.outcome.inc();
          series.duration.observe(e.durationMs / 1000);
        }),
        events.on('step.failed', (e) => {
          const l = { ...labels(e), step: e.stepName };
          const outcome = e.willRetry ? 'retry' : 'failed';
          stepOutcomes.inc({ ...l, outcome });
          stepDuration.observe({ ...l, outcome }, e.durationMs / 1000);
          if (e.willRetry) stepRetries.inc(l);
          if (e.error?.class === 'StepTimeoutError') stepTimeouts.inc(l);
        }),
        events.on('step.waiting', (e) =>
          stepWaits.inc({ ...labels(e), step: e.stepName, for: e.waitingFor }),
        ),
        events.on('step.decided', (e) =>
          decisionSkips.inc({ ...labels(e), step: e.stepName }, e.skipped.length),
        ),
        events.on('step.outcome_refused', () => refused.inc()),
        events.on('worker.steps_reclaimed', (e) => reclaimed.inc(e.count)),
        events.on('retention.pruned', (e) => pruned.inc({ trigger: e.trigger, mode: e.mode }, e.tasks)),
        events.on('schedule.fired', (e) => {
          scheduleFires.inc({ schedule: e.schedule, manual: String(e.manual) });
          if (!e.manual && e.lateMs > 5000) scheduleLateFires.inc({ schedule: e.schedule });
        }),
        events.on('schedule.skipped', (e) => scheduleSkipped.inc({ schedule: e.schedule }, e.count)),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    async text() {
      cluster = null;
      try {
        return await registry.metrics();
      } finally {
        cluster = null;
      }
    },
  };
}

interface TemplateLabels {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
}
interface StepLabels extends TemplateLabels {
  readonly stepName: string;
}

function labels(e: TemplateLabels) {
  return { namespace: e.namespace, name: e.name, version: e.version };
}

/** A counter series counted in a plain number until the registry is read (see createMetrics). */
interface LocalCount {
  n: number;
  readonly series: { inc(value: number): void };
  inc(): void;
}

/**
 * Memoizes the series of a template (and step), keyed by their names. The last one is kept at hand:
 * events come in runs of one template, whose name strings compare at once.
 */
function seriesCache<E extends TemplateLabels, T>(make: (e: E) => T): (e: E) => T {
  const cache = new Map<string, T>();
  // The last label set's names, not its event: nothing of an event outlives its delivery.
  let last: { namespace: string; name: string; version: string; step: string; series: T } | null = null;
  return (e) => {
    const step = 'stepName' in e ? String(e.stepName) : '';
    if (
      last !== null &&
      last.namespace === e.namespace &&
      last.name === e.name &&
      last.version === e.version &&
      last.step === step
    ) {
      return last.series;
    }
    const key = `${e.namespace}\u0000${e.name}\u0000${e.version}\u0000${step}`;
    let series = cache.get(key);
    if (series === undefined) {
      series = make(e);
      cache.set(key, series);
    }
    last = { namespace: e.namespace, name: e.name, version: e.version, step, series };
    return series;
  };
}
