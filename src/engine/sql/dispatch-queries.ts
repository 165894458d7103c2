/** The worker's hot path: claim ready steps; record outcomes and claim more, in one round trip. */
import type { Queryable } from '../../db/database.js';
import type { SqlContext } from './sql-context.js';

/** A row of tasker.dispatch_row. */
export interface DispatchRow {
  /**
   * claimed: leased to the caller, to run; queued: leased too, in line behind the caller's holders of its
   * concurrency key (it starts when fewer than its limit of them run here; migration 35). created and
   * existing: a task request's result in create_tasks_and_claim (task_id, state, its position in `attempt`).
   */
  readonly kind: 'claimed' | 'queued' | 'refused' | 'retry' | 'task' | 'created' | 'existing';
  readonly step_id: number | null;
  readonly task_id: number | null;
  readonly state: string | null;
  readonly named_task_id: number | null;
  readonly step_name: string | null;
  readonly attempt: number | null;
  readonly attempts_base: number | null;
  readonly retry_limit: number | null;
  readonly timeout_ms: number | null;
  readonly inputs: unknown;
  readonly context: Record<string, unknown> | null;
  readonly parent_results: Record<string, unknown> | null;
  readonly correlation_id: string | null;
  readonly traceparent: string | null;
  /** claimed: when the step became ready; retry: when it may run again; task: when it started. */
  readonly run_at: Date | null;
  readonly task_created_at: Date | null;
  /** claimed and queued: the step's concurrency key (step-scoped) and its limit, if it has one. */
  readonly concurrency_key: string | null;
  readonly concurrency_limit: number | null;
}

/** What a worker reports for one attempt of a step. */
export interface StepOutcome {
  readonly step_id: number;
  /** The attempt the step was claimed with (its lease). */
  readonly attempt: number;
  readonly ok: boolean;
  readonly results?: unknown;
  readonly error?: SerializedError;
  readonly permanent?: boolean;
  readonly retry_delay_ms?: number;
  /** A batch step's items: its workers are created and it waits for them (not an outcome; migration 23). */
  readonly await_batch?: {
    readonly items: readonly unknown[];
    readonly retryable: boolean;
    readonly retry_limit: number;
    readonly timeout_ms: number | null;
  };
  /**
   * The attempt waits for a child task (not an outcome): the child to create (migration 25), or the id of
   * one that exists (migration 22).
   */
  readonly await_child?:
    | number
    | {
        readonly call: number;
        readonly named_task_id: number;
        readonly task: Readonly<Record<string, unknown>>;
      };
  /** A decision step's children it did not choose (they are skipped, and what only they lead to). */
  readonly skip_children?: readonly string[];
  /** The handler threw RateLimitedError (a 429): the step's rate limits slow down. Not read by SQL. */
  readonly rate_limited?: { readonly retry_after_ms: number | null };
}

export interface SerializedError {
  readonly class: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly context?: Readonly<Record<string, unknown>>;
  /** What kind of failure (docs/diagnostics.md); set by the worker, absent on errors the database made. */
  readonly category?: string;
  /** Groups occurrences of the same problem (docs/diagnostics.md). */
  readonly fingerprint?: string;
}

export async function claimSteps(
  sql: SqlContext,
  workerId: string,
  namedTaskIds: readonly number[] | null,
  limit: number,
): Promise<DispatchRow[]> {
  const { rows } = await sql.db.query<DispatchRow>(`SELECT * FROM ${sql.schema}.claim_steps($1, $2, $3)`, [
    workerId,
    namedTaskIds,
    limit,
  ]);
  return rows;
}

export async function finishSteps(
  sql: SqlContext,
  workerId: string,
  outcomes: readonly StepOutcome[],
  claimLimit: number,
  namedTaskIds: readonly number[] | null,
  /**
   * False when the caller knows that nothing beyond the children these outcomes make ready can be claimed
   * (its last claim came back short and no wake-up came since): the claim from the queue is skipped.
   */
  claimQueue = true,
): Promise<DispatchRow[]> {
  const { rows } = await sql.db.query<DispatchRow>(
    `SELECT * FROM ${sql.schema}.finish_steps($1, $2, $3, $4, $5)`,
    [workerId, JSON.stringify(outcomes), claimLimit, namedTaskIds, claimQueue],
  );
  return rows;
}

/**
 * Creates tasks of one template (create_tasks) and, in the same transaction, claims up to `claimLimit`
 * ready steps for a worker of this process (claim_steps; migration 40). Returns a created or existing row
 * per request, then the claimed ones.
 */
export async function createTasksAndClaim(
  q: Queryable,
  schema: string,
  namedTaskId: number,
  tasksJson: string,
  workerId: string,
  claimLimit: number,
  namedTaskIds: readonly number[],
): Promise<DispatchRow[]> {
  const { rows } = await q.query<DispatchRow>(
    `SELECT * FROM ${schema}.create_tasks_and_claim($1, $2, $3, $4, $5)`,
    [namedTaskId, tasksJson, workerId, claimLimit, namedTaskIds],
  );
  return rows;
}

/** Saves a batch worker's checkpoint under its lease (migration 23); false when the lease is gone. */
export async function saveCheckpoint(
  sql: SqlContext,
  stepId: number,
  attempt: number,
  json: string,
): Promise<boolean> {
  const { rows } = await sql.db.query<{ saved: boolean }>(
    `SELECT ${sql.schema}.save_checkpoint($1, $2, $3) AS saved`,
    [stepId, attempt, json],
  );
  return rows[0]?.saved === true;
}

export async function nextRunAt(
  sql: SqlContext,
  namedTaskIds: readonly number[] | null,
): Promise<Date | null> {
  const { rows } = await sql.db.query<{ run_at: Date | null }>(
    `SELECT ${sql.schema}.next_run_at($1) AS run_at`,
    [namedTaskIds],
  );
  return rows[0]?.run_at ?? null;
}
