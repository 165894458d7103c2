/** Reads of tasks, steps and their transitions. */
import type { StepState, TaskState } from '../../model/states.js';
import { stepDisplayState, stepStateLabel } from '../../model/step-display.js';
import { stepWait, stepWaitLabel } from '../../model/step-wait.js';
import type { Step, StepError, StepTransition, Task, TaskTransition } from '../../model/types.js';
import type { SqlContext } from './sql-context.js';

interface TaskRow {
  id: number;
  namespace: string;
  name: string;
  version: string;
  state: TaskState;
  context: Record<string, unknown>;
  initiator: string | null;
  source_system: string | null;
  reason: string | null;
  tags: string[];
  bypass_steps: string[];
  requested_at: Date;
  task_run_at: Date | null;
  priority: number;
  concurrency_key: string | null;
  parent_task_id: string | null;
  parent_step_id: string | null;
  identity_key: string | null;
  correlation_id: string | null;
  traceparent: string | null;
  step_count: number;
  unfinished_steps: number;
  failed_steps: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  archived_at: Date | null;
}

interface StepRow {
  id: number;
  task_id: number;
  name: string;
  position: number;
  state: StepState;
  attempts: number;
  attempts_base: number;
  retry_limit: number;
  retryable: boolean;
  timeout_ms: number | null;
  skippable: boolean;
  blocked: boolean;
  parent_ids: number[];
  child_ids: number[];
  inputs: unknown;
  results: unknown;
  last_error: StepError | null;
  run_at: Date | null;
  parked_on: string | null;
  throttled_at: Date | null;
  batch_parent_id: string | number | null;
  batch_pending: number | null;
  waiting_since: Date | null;
  wait: unknown;
  batch_index: number | null;
  compensation: 'undo' | 'on_failure' | null;
  backoff_request_seconds: string | null;
  last_attempted_at: Date | null;
  completed_at: Date | null;
  worker_id: string | null;
  worker_name: string | null;
  created_at: Date;
  updated_at: Date;
}

const TASK_COLUMNS = `t.id, ns.name AS namespace, nt.name, nt.version, t.state, t.context, t.initiator, t.source_system, t.reason,
    t.tags, t.bypass_steps, t.requested_at, t.run_at AS task_run_at, t.priority, t.concurrency_key, t.parent_task_id, t.parent_step_id, t.identity_key, t.correlation_id, t.traceparent, t.step_count,
    t.unfinished_steps, t.failed_steps, t.created_at, t.updated_at, t.started_at, t.completed_at`;

/** The task columns and the FROM clause of live tasks (alias t); add WHERE and ORDER BY. */
export function taskColumns(schema: string): string {
  return `${TASK_COLUMNS}, NULL::timestamptz AS archived_at
    FROM ${schema}.tasks t
    JOIN ${schema}.named_tasks nt ON nt.id = t.named_task_id
    JOIN ${schema}.task_namespaces ns ON ns.id = nt.namespace_id`;
}

/**
 * The same columns read from the archive (migration 28): the archived row is `a` (filter and order on its
 * copied columns: id, state, tags, parent_task_id, created_at, completed_at), the task row rebuilt from it `t`.
 */
export function archivedTaskColumns(schema: string): string {
  return `${TASK_COLUMNS}, a.archived_at
    FROM ${schema}.archived_tasks a
    CROSS JOIN LATERAL json_populate_record(NULL::${schema}.tasks, a.task) t
    JOIN ${schema}.named_tasks nt ON nt.id = t.named_task_id
    JOIN ${schema}.task_namespaces ns ON ns.id = nt.namespace_id`;
}

export function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    version: r.version,
    state: r.state,
    context: r.context,
    initiator: r.initiator,
    sourceSystem: r.source_system,
    reason: r.reason,
    tags: r.tags,
    bypassSteps: r.bypass_steps,
    requestedAt: r.requested_at,
    runAt: r.task_run_at,
    priority: r.priority,
    concurrencyKey: r.concurrency_key,
    parentTaskId: r.parent_task_id === null ? null : Number(r.parent_task_id),
    parentStepId: r.parent_step_id === null ? null : Number(r.parent_step_id),
    identityKey: r.identity_key,
    correlationId: r.correlation_id,
    traceparent: r.traceparent,
    stepCount: r.step_count,
    unfinishedSteps: r.unfinished_steps,
    failedSteps: r.failed_steps,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    archivedAt: r.archived_at,
  };
}

function toStep(r: StepRow): Step {
  const waiting = stepWait(r);
  return {
    id: r.id,
    taskId: r.task_id,
    name: r.name,
    position: r.position,
    state: r.state,
    attempts: r.attempts - r.attempts_base,
    totalAttempts: r.attempts,
    retryLimit: r.retry_limit,
    retryable: r.retryable,
    timeoutMs: r.timeout_ms,
    skippable: r.skippable,
    blocked: r.blocked,
    parentIds: r.parent_ids,
    childIds: r.child_ids,
    inputs: r.inputs,
    results: r.results,
    lastError: r.last_error,
    runAt: r.run_at,
    waitingForKey: r.parked_on,
    batchParentId: r.batch_parent_id === null ? null : Number(r.batch_parent_id),
    batchIndex: r.batch_index,
    compensation: r.compensation,
    throttledAt: r.throttled_at,
    backoffRequestSeconds: r.backoff_request_seconds === null ? null : Number(r.backoff_request_seconds),
    lastAttemptedAt: r.last_attempted_at,
    completedAt: r.completed_at,
    workerId: r.worker_id,
    workerName: r.worker_name,
    displayState: stepDisplayState(r),
    stateLabel: waiting ? stepWaitLabel(waiting) : stepStateLabel(r),
    waiting,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const STEP_COLUMNS = `s.id, s.task_id, s.name, s.position, s.state, s.attempts, s.attempts_base, s.retry_limit, s.retryable,
  s.timeout_ms, s.skippable, s.blocked, s.parent_ids, s.child_ids, s.inputs, s.results, s.last_error, s.run_at,
  s.parked_on, s.throttled_at, s.batch_parent_id, s.batch_index, s.compensation, s.batch_pending, s.waiting_since, s.wait, s.backoff_request_seconds, s.last_attempted_at, s.completed_at, s.worker_id, s.created_at, s.updated_at`;

/**
 * Where a read looks: the live tables, or the archive (tasks moved there by retention, migration 28),
 * whose rows read back with the same columns.
 */
export type TaskSource = 'live' | 'archive';

/**
 * Steps with the name of their worker (the one a person recognises: host:pid, unless it was given one),
 * from the steps table or a function returning archived steps rows (`rows`).
 */
function stepsFrom(schema: string, rows = `${schema}.steps`): string {
  return `${STEP_COLUMNS}, w.name AS worker_name
    FROM ${rows} s LEFT JOIN ${schema}.workers w ON w.id = s.worker_id`;
}

export async function findTask(
  sql: SqlContext,
  id: number,
  source: TaskSource = 'live',
): Promise<Task | null> {
  const text =
    source === 'live'
      ? `SELECT ${taskColumns(sql.schema)} WHERE t.id = $1`
      : `SELECT ${archivedTaskColumns(sql.schema)} WHERE a.id = $1`;
  const { rows } = await sql.db.query<TaskRow>(text, [id]);
  return rows[0] ? toTask(rows[0]) : null;
}

/** When the task (or the task of the step) was archived; null when it is not in the archive. */
export async function archivedAt(sql: SqlContext, kind: 'task' | 'step', id: number): Promise<Date | null> {
  const where = kind === 'task' ? 'id = $1' : 'step_ids @> ARRAY[$1::bigint]';
  const { rows } = await sql.db.query<{ archived_at: Date }>(
    `SELECT archived_at FROM ${sql.schema}.archived_tasks WHERE ${where} LIMIT 1`,
    [id],
  );
  return rows[0]?.archived_at ?? null;
}

export async function findTasks(sql: SqlContext, ids: readonly number[]): Promise<Task[]> {
  const { rows } = await sql.db.query<TaskRow>(
    `SELECT ${taskColumns(sql.schema)} WHERE t.id = ANY ($1) ORDER BY t.id`,
    [ids],
  );
  return rows.map(toTask);
}

export async function findSteps(
  sql: SqlContext,
  taskIds: readonly number[],
  source: TaskSource = 'live',
): Promise<Step[]> {
  const text =
    source === 'live'
      ? `SELECT ${stepsFrom(sql.schema)} WHERE s.task_id = ANY ($1) ORDER BY s.task_id, s.position`
      : `SELECT ${stepsFrom(sql.schema, `${sql.schema}.archived_step_rows($1)`)} ORDER BY s.task_id, s.position`;
  const { rows } = await sql.db.query<StepRow>(text, [taskIds]);
  return rows.map(toStep);
}

export async function findStep(
  sql: SqlContext,
  id: number,
  source: TaskSource = 'live',
): Promise<Step | null> {
  const text =
    source === 'live'
      ? `SELECT ${stepsFrom(sql.schema)} WHERE s.id = $1`
      : `SELECT ${stepsFrom(sql.schema, `${sql.schema}.archived_step_row($1)`)}`;
  const { rows } = await sql.db.query<StepRow>(text, [id]);
  return rows[0] ? toStep(rows[0]) : null;
}

/** The states of these tasks, live or archived (a task archived while someone waits on it has finished). */
export async function taskStates(sql: SqlContext, ids: readonly number[]): Promise<Map<number, TaskState>> {
  const { rows } = await sql.db.query<{ id: number; state: TaskState }>(
    `SELECT id, state FROM ${sql.schema}.tasks WHERE id = ANY ($1)
     UNION ALL SELECT id, state FROM ${sql.schema}.archived_tasks WHERE id = ANY ($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.state]));
}

export async function findTaskTransitions(
  sql: SqlContext,
  taskId: number,
  source: TaskSource = 'live',
): Promise<TaskTransition[]> {
  const from =
    source === 'live'
      ? `${sql.schema}.task_transition_history WHERE task_id = $1`
      : `${sql.schema}.archived_task_transition_history($1)`;
  const { rows } = await sql.db.query<{
    task_id: number;
    sort_key: number;
    from_state: TaskState | null;
    to_state: TaskState;
    metadata: Record<string, unknown> | null;
    created_at: Date;
    most_recent: boolean;
  }>(`SELECT * FROM ${from} ORDER BY sort_key`, [taskId]);
  return rows.map((r) => ({
    taskId: r.task_id,
    sortKey: r.sort_key,
    fromState: r.from_state,
    toState: r.to_state,
    metadata: r.metadata,
    createdAt: r.created_at,
    mostRecent: r.most_recent,
  }));
}

/** Step transitions of one step, or of every step of a task when `by` is 'task'. */
export async function findStepTransitions(
  sql: SqlContext,
  by: 'step' | 'task',
  id: number,
  source: TaskSource = 'live',
): Promise<StepTransition[]> {
  const from =
    source === 'live'
      ? `${sql.schema}.step_transition_history h JOIN ${sql.schema}.steps s ON s.id = h.step_id
         LEFT JOIN ${sql.schema}.workers w ON w.id::text = h.metadata->>'worker_id'
         WHERE ${by === 'step' ? 'h.step_id' : 'h.task_id'} = $1`
      : `${sql.schema}.archived_step_transition_history(${by === 'task' ? '$1, NULL' : 'NULL, $1'}) h
         LEFT JOIN ${sql.schema}.workers w ON w.id::text = h.metadata->>'worker_id'`;
  const stepName = source === 'live' ? 's.name' : 'h.step_name';
  const { rows } = await sql.db.query<{
    step_id: number;
    task_id: number;
    step_name: string;
    sort_key: number;
    from_state: StepState | null;
    to_state: StepState;
    metadata: Record<string, unknown> | null;
    created_at: Date;
    most_recent: boolean;
    worker_name: string | null;
  }>(
    // An attempt's start names its worker by id in the metadata; people know workers by name.
    `SELECT h.step_id, h.task_id, ${stepName} AS step_name, h.sort_key, h.from_state, h.to_state, h.metadata,
       h.created_at, h.most_recent, w.name AS worker_name FROM ${from}
     ORDER BY h.created_at, h.step_id, h.sort_key`,
    [id],
  );
  return rows.map((r) => ({
    stepId: r.step_id,
    taskId: r.task_id,
    stepName: r.step_name,
    sortKey: r.sort_key,
    fromState: r.from_state,
    toState: r.to_state,
    metadata: r.metadata,
    createdAt: r.created_at,
    mostRecent: r.most_recent,
    workerName: r.worker_name,
  }));
}
