/**
 * Library calls over the analytics functions of migration 9 (semantics in their SQL comments and in
 * docs/observability.md). Inputs are validated here; the SQL is parameterized.
 */

import { TaskerError } from '../../errors.js';
import type { SqlContext } from './sql-context.js';

export interface SystemHealthCounts {
  readonly tasks: Readonly<
    Record<
      'total' | 'pending' | 'inProgress' | 'complete' | 'error' | 'cancelled' | 'resolvedManually',
      number
    >
  >;
  readonly steps: Readonly<
    Record<
      | 'total'
      | 'pending'
      | 'inProgress'
      | 'waitingForRetry'
      | 'complete'
      | 'error'
      | 'cancelled'
      | 'resolvedManually'
      | 'skipped',
      number
    >
  >;
  readonly retryableErrorSteps: number;
  readonly exhaustedRetrySteps: number;
  readonly inBackoffSteps: number;
  readonly liveWorkers: number;
  readonly activeConnections: number;
  readonly maxConnections: number;
}

export interface AnalyticsMetrics {
  readonly activeTasksCount: number;
  readonly totalNamespacesCount: number;
  readonly uniqueTaskTypesCount: number;
  readonly systemHealthScore: number;
  readonly taskThroughput: number;
  readonly completionCount: number;
  readonly errorCount: number;
  readonly completionRate: number;
  readonly errorRate: number;
  /** Seconds. */
  readonly avgTaskDuration: number;
  /** Seconds. */
  readonly avgStepDuration: number;
  readonly stepThroughput: number;
  readonly analysisPeriodStart: Date;
  readonly calculatedAt: Date;
}

export interface SlowStep {
  readonly stepId: number;
  readonly taskId: number;
  readonly stepName: string;
  readonly namespace: string;
  readonly taskName: string;
  readonly version: string;
  readonly durationSeconds: number;
  readonly attempts: number;
  readonly retryLimit: number;
  readonly completedAt: Date;
}

export interface SlowTask {
  readonly taskId: number;
  readonly namespace: string;
  readonly taskName: string;
  readonly version: string;
  readonly state: string;
  readonly durationSeconds: number;
  readonly stepCount: number;
  readonly failedSteps: number;
  readonly createdAt: Date;
  readonly completedAt: Date;
}

export interface SlowestFilter {
  /** @defaultValue 24 hours ago */
  readonly since?: Date;
  /** 1 to 1000. @defaultValue 10 */
  readonly limit?: number;
  readonly namespace?: string;
  readonly name?: string;
  readonly version?: string;
}

export interface LiveWorker {
  readonly id: string;
  readonly name: string;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly concurrency: number;
  readonly namespaces: readonly string[] | null;
  readonly startedAt: Date;
  readonly lastHeartbeatAt: Date;
  readonly leaseMs: number;
  readonly runningSteps: number;
}

export interface QueueStats {
  readonly readySteps: number;
  readonly oldestReadyAgeSeconds: number;
  readonly inProgressSteps: number;
  readonly liveWorkers: number;
  /** Ready steps parked on a full concurrency key. */
  readonly waitingForKeySteps: number;
  /** Steps parked until their batch's workers finish, their child task finishes, or a signal comes. */
  readonly waitingSteps: { readonly batch: number; readonly child: number; readonly signal: number };
}

export interface Analytics {
  systemHealthCounts(): Promise<SystemHealthCounts>;
  /** Figures for the window since `since` (default: one hour ago). */
  analyticsMetrics(options?: { since?: Date }): Promise<AnalyticsMetrics>;
  slowestSteps(filter?: SlowestFilter): Promise<SlowStep[]>;
  slowestTasks(filter?: SlowestFilter): Promise<SlowTask[]>;
  /** Workers whose heartbeat is within their lease. */
  liveWorkers(): Promise<LiveWorker[]>;
  queueStats(): Promise<QueueStats>;
  /**
   * Finished tasks per time bucket since `since` (complete, error, cancelled): throughput and failure
   * rate over time. Reads the finished tasks of the window only (index tasks_finished).
   */
  throughputSeries(options: { since: Date; bucketMs: number }): Promise<ThroughputBucket[]>;
  /**
   * How long successful step attempts took since `since`, as counts per power-of-two bucket of
   * milliseconds (1, 2, 4, ... ms: `upToMs` is the bucket's upper bound), for all steps or one template step.
   */
  stepDurationHistogram(options: {
    since: Date;
    namespace?: string;
    name?: string;
    step?: string;
  }): Promise<Array<{ upToMs: number; count: number }>>;
}

export interface ThroughputBucket {
  /** The bucket's start. */
  readonly at: Date;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
}

type Row = Record<string, unknown>;
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const d = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

function checkSince(since: unknown, field = 'since'): Date | null {
  if (since === undefined) return null;
  if (!(since instanceof Date) || Number.isNaN(since.getTime())) {
    throw new TaskerError('TASKER_INVALID_REQUEST', `${field} must be a valid Date, got ${String(since)}`);
  }
  return since;
}

function checkFilter(filter: SlowestFilter): unknown[] {
  const since = checkSince(filter.since);
  const limit = filter.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new TaskerError(
      'TASKER_INVALID_REQUEST',
      `limit must be an integer from 1 to 1000, got ${String(limit)}`,
    );
  }
  for (const field of ['namespace', 'name', 'version'] as const) {
    const value = filter[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > 128)) {
      throw new TaskerError(
        'TASKER_INVALID_REQUEST',
        `${field} must be a non-empty string of at most 128 characters`,
      );
    }
  }
  return [
    since ?? new Date(Date.now() - 24 * 3600_000),
    limit,
    filter.namespace ?? null,
    filter.name ?? null,
    filter.version ?? null,
  ];
}

export function createAnalytics(sql: SqlContext, db: <T>(fn: () => Promise<T>) => Promise<T>): Analytics {
  const rows = (text: string, params: unknown[] = []) =>
    db(() => sql.db.query<Row>(text, params)).then((r) => r.rows);
  return {
    async throughputSeries({ since, bucketMs }) {
      checkSince(since);
      const list = await rows(
        `SELECT floor(extract(epoch FROM completed_at) * 1000 / $2)::bigint * $2 AS at,
           count(*) FILTER (WHERE state IN ('complete', 'resolved_manually')) AS completed,
           count(*) FILTER (WHERE state = 'error') AS failed,
           count(*) FILTER (WHERE state = 'cancelled') AS cancelled
         FROM ${sql.schema}.tasks
         WHERE state IN ('complete', 'error', 'cancelled', 'resolved_manually') AND completed_at >= $1
         GROUP BY 1 ORDER BY 1`,
        [since, bucketMs],
      );
      return list.map((r) => ({
        at: new Date(n(r.at)),
        completed: n(r.completed),
        failed: n(r.failed),
        cancelled: n(r.cancelled),
      }));
    },
    async stepDurationHistogram({ since, namespace, name, step }) {
      checkSince(since);
      const list = await rows(
        `SELECT power(2, greatest(0, ceil(log(2, greatest(1, extract(epoch FROM s.completed_at - s.last_attempted_at) * 1000)))))::bigint AS up_to,
           count(*) AS n
         FROM ${sql.schema}.steps s
         JOIN ${sql.schema}.named_tasks nt ON nt.id = s.named_task_id
         JOIN ${sql.schema}.task_namespaces ns ON ns.id = nt.namespace_id
         WHERE s.state = 'complete' AND s.completed_at >= $1 AND s.last_attempted_at IS NOT NULL
           AND ($2::text IS NULL OR ns.name = $2) AND ($3::text IS NULL OR nt.name = $3)
           AND ($4::text IS NULL OR s.name = $4)
         GROUP BY 1 ORDER BY 1`,
        [since, namespace ?? null, name ?? null, step ?? null],
      );
      return list.map((r) => ({ upToMs: n(r.up_to), count: n(r.n) }));
    },
    async systemHealthCounts() {
      const [r] = await rows(`SELECT * FROM ${sql.schema}.system_health_counts()`);
      return {
        tasks: {
          total: n(r!.total_tasks),
          pending: n(r!.pending_tasks),
          inProgress: n(r!.in_progress_tasks),
          complete: n(r!.complete_tasks),
          error: n(r!.error_tasks),
          cancelled: n(r!.cancelled_tasks),
          resolvedManually: n(r!.resolved_manually_tasks),
        },
        steps: {
          total: n(r!.total_steps),
          pending: n(r!.pending_steps),
          inProgress: n(r!.in_progress_steps),
          waitingForRetry: n(r!.waiting_for_retry_steps),
          complete: n(r!.complete_steps),
          error: n(r!.error_steps),
          cancelled: n(r!.cancelled_steps),
          resolvedManually: n(r!.resolved_manually_steps),
          skipped: n(r!.skipped_steps),
        },
        retryableErrorSteps: n(r!.retryable_error_steps),
        exhaustedRetrySteps: n(r!.exhausted_retry_steps),
        inBackoffSteps: n(r!.in_backoff_steps),
        liveWorkers: n(r!.live_workers),
        activeConnections: n(r!.active_connections),
        maxConnections: n(r!.max_connections),
      };
    },
    async analyticsMetrics(options = {}) {
      const since = checkSince(options.since) ?? new Date(Date.now() - 3600_000);
      const [r] = await rows(`SELECT * FROM ${sql.schema}.analytics_metrics($1)`, [since]);
      return {
        activeTasksCount: n(r!.active_tasks_count),
        totalNamespacesCount: n(r!.total_namespaces_count),
        uniqueTaskTypesCount: n(r!.unique_task_types_count),
        systemHealthScore: n(r!.system_health_score),
        taskThroughput: n(r!.task_throughput),
        completionCount: n(r!.completion_count),
        errorCount: n(r!.error_count),
        completionRate: n(r!.completion_rate),
        errorRate: n(r!.error_rate),
        avgTaskDuration: n(r!.avg_task_duration),
        avgStepDuration: n(r!.avg_step_duration),
        stepThroughput: n(r!.step_throughput),
        analysisPeriodStart: d(r!.analysis_period_start),
        calculatedAt: d(r!.calculated_at),
      };
    },
    async slowestSteps(filter = {}) {
      const list = await rows(
        `SELECT * FROM ${sql.schema}.slowest_steps($1, $2, $3, $4, $5)`,
        checkFilter(filter),
      );
      return list.map((r) => ({
        stepId: n(r.step_id),
        taskId: n(r.task_id),
        stepName: String(r.step_name),
        namespace: String(r.namespace),
        taskName: String(r.task_name),
        version: String(r.version),
        durationSeconds: n(r.duration_seconds),
        attempts: n(r.attempts),
        retryLimit: n(r.retry_limit),
        completedAt: d(r.completed_at),
      }));
    },
    async slowestTasks(filter = {}) {
      const list = await rows(
        `SELECT * FROM ${sql.schema}.slowest_tasks($1, $2, $3, $4, $5)`,
        checkFilter(filter),
      );
      return list.map((r) => ({
        taskId: n(r.task_id),
        namespace: String(r.namespace),
        taskName: String(r.task_name),
        version: String(r.version),
        state: String(r.state),
        durationSeconds: n(r.duration_seconds),
        stepCount: n(r.step_count),
        failedSteps: n(r.failed_steps),
        createdAt: d(r.created_at),
        completedAt: d(r.completed_at),
      }));
    },
    async liveWorkers() {
      const list = await rows(`SELECT * FROM ${sql.schema}.live_workers()`);
      return list.map((r) => ({
        id: String(r.id),
        name: String(r.name),
        hostname: (r.hostname as string | null) ?? null,
        pid: r.pid === null ? null : n(r.pid),
        concurrency: n(r.concurrency),
        namespaces: (r.namespaces as string[] | null) ?? null,
        startedAt: d(r.started_at),
        lastHeartbeatAt: d(r.last_heartbeat_at),
        leaseMs: n(r.lease_ms),
        runningSteps: n(r.running_steps),
      }));
    },
    async queueStats() {
      const [r] = await rows(`SELECT * FROM ${sql.schema}.queue_stats()`);
      return {
        readySteps: n(r!.ready_steps),
        oldestReadyAgeSeconds: n(r!.oldest_ready_age_seconds),
        inProgressSteps: n(r!.in_progress_steps),
        liveWorkers: n(r!.live_workers),
        waitingForKeySteps: n(r!.parked_steps),
        waitingSteps: {
          batch: n((r!.waiting as Record<string, unknown>).batch),
          child: n((r!.waiting as Record<string, unknown>).child),
          signal: n((r!.waiting as Record<string, unknown>).signal),
        },
      };
    },
  };
}
