/**
 * Counts for the health status endpoint: tasks and steps by state, the step queue (what will run and
 * what will not), and the workers seen recently.
 */
import type { SqlContext } from './sql-context.js';

export interface WorkerStatus {
  readonly id: string;
  readonly name: string;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly concurrency: number;
  readonly namespaces: string[] | null;
  readonly startedAt: Date;
  readonly lastHeartbeatAt: Date;
}

/**
 * Tasks and steps by state, from the counts the database maintains (migration 10: statement triggers
 * add each change to per-connection counter rows). Exact, and it reads a few dozen rows whatever the
 * history; a GROUP BY over the tables took 0.5 s at a million finished tasks.
 */
export async function countByState(
  sql: SqlContext,
): Promise<{ tasks: Record<string, number>; steps: Record<string, number> }> {
  const { rows } = await sql.db.query<{ entity: 'task' | 'step'; state: string; n: number | string }>(
    `SELECT entity, state, n FROM ${sql.schema}.count_by_state()`,
  );
  const tasks: Record<string, number> = {};
  const steps: Record<string, number> = {};
  for (const r of rows) (r.entity === 'task' ? tasks : steps)[r.state] = Number(r.n);
  return { tasks, steps };
}

/**
 * How long the longest-running task has been in progress (seconds; 0 when none): the "stuck task" alert's
 * metric. Reads the in_progress tasks only (index tasks_state), so it costs what the active work is.
 */
export async function oldestRunningTaskAgeSeconds(sql: SqlContext): Promise<number> {
  const { rows } = await sql.db.query<{ age: number | string | null }>(
    `SELECT extract(epoch FROM now() - min(started_at)) AS age FROM ${sql.schema}.tasks WHERE state = 'in_progress'`,
  );
  return Math.max(0, Number(rows[0]?.age ?? 0));
}

/** The steps still to run, by what they wait for, and the ones that will not run unless someone acts. */
export interface StepQueue {
  /** Claimable now: parents done, due, in a pending or running task. */
  readonly ready: number;
  /** Parents done but not due yet: waiting out a retry's backoff. */
  readonly waitingForRetry: number;
  /** Waiting for parents that are still to finish, in a pending or running task. */
  readonly waitingForParents: number;
  readonly running: number;
  /** Pending below a step that failed for good: they run only if it is retried or resolved by hand. */
  readonly blocked: number;
}

/**
 * The step queue. Steps of finished or cancelled tasks never count as waiting (a failed task's steps
 * below the failure are `blocked`). Reads the unfinished steps only (their states are few, whatever
 * the history).
 */
export async function stepQueue(sql: SqlContext): Promise<StepQueue> {
  const { rows } = await sql.db.query<Record<keyof StepQueue, number>>(
    `SELECT
       count(*) FILTER (WHERE active AND s.state <> 'in_progress' AND s.pending_parents = 0 AND s.run_at <= now())::integer AS ready,
       count(*) FILTER (WHERE active AND s.state <> 'in_progress' AND s.pending_parents = 0 AND s.run_at > now())::integer AS "waitingForRetry",
       count(*) FILTER (WHERE active AND s.state = 'pending' AND s.pending_parents > 0 AND NOT s.blocked)::integer AS "waitingForParents",
       count(*) FILTER (WHERE s.state = 'in_progress')::integer AS running,
       count(*) FILTER (WHERE s.state = 'pending' AND s.blocked)::integer AS blocked
     FROM ${sql.schema}.steps s
     JOIN ${sql.schema}.tasks t ON t.id = s.task_id
     CROSS JOIN LATERAL (SELECT t.state IN ('pending', 'in_progress') AS active) a
     WHERE s.state IN ('pending', 'waiting_for_retry', 'in_progress')`,
  );
  const r = rows[0]!;
  return {
    ready: Number(r.ready),
    waitingForRetry: Number(r.waitingForRetry),
    waitingForParents: Number(r.waitingForParents),
    running: Number(r.running),
    blocked: Number(r.blocked),
  };
}

/**
 * Workers not stopped whose heartbeat is within their lease: the ones alive now. The one definition of
 * "live" is the SQL function live_workers() (migration 9), which the analytics read too.
 */
export async function liveWorkers(sql: SqlContext): Promise<WorkerStatus[]> {
  const { rows } = await sql.db.query<{
    id: string;
    name: string;
    hostname: string | null;
    pid: number | null;
    concurrency: number;
    namespaces: string[] | null;
    started_at: Date;
    last_heartbeat_at: Date;
  }>(
    `SELECT id, name, hostname, pid, concurrency, namespaces, started_at, last_heartbeat_at
     FROM ${sql.schema}.live_workers()`,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    pid: r.pid,
    concurrency: r.concurrency,
    namespaces: r.namespaces,
    startedAt: r.started_at,
    lastHeartbeatAt: r.last_heartbeat_at,
  }));
}
