/**
 * The dead-letter view: steps that failed for good, grouped by their error's fingerprint (errors the
 * database itself recorded, such as a lease that expired, have none and group by class), and the steps
 * of one group. Reads only failed steps (index steps_failed, migration 16).
 */
import type { StepError } from '../../model/types.js';
import type { SqlContext } from './sql-context.js';

export interface FailureFilter {
  /** Only failures from this time on. */
  readonly since?: Date | undefined;
  readonly namespace?: string | undefined;
  /** At most this many groups (largest first) or steps (newest first). @defaultValue 50 */
  readonly limit?: number | undefined;
}

export interface FailureGroupRow {
  readonly fingerprint: string;
  readonly steps: number;
  readonly tasks: number;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
  readonly affected: ReadonlyArray<{ namespace: string; name: string; version: string; step: string }>;
  readonly sample: StepError;
  readonly sampleTaskId: number;
  readonly sampleStepId: number;
}

export interface FailedStepRow {
  readonly stepId: number;
  readonly taskId: number;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly step: string;
  readonly attempts: number;
  readonly failedAt: Date;
  readonly error: StepError;
}

const FAILED = (schema: string) => `
  SELECT s.id, s.task_id, s.name AS step, s.completed_at, s.last_error, s.attempts - s.attempts_base AS attempts,
    coalesce(s.last_error ->> 'fingerprint', 'class:' || coalesce(s.last_error ->> 'class', 'unknown')) AS fingerprint,
    ns.name AS namespace, nt.name AS task_name, nt.version
  FROM ${schema}.steps s
  JOIN ${schema}.named_tasks nt ON nt.id = s.named_task_id
  JOIN ${schema}.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE s.state = 'error'
    AND ($1::timestamptz IS NULL OR s.completed_at >= $1)
    AND ($2::text IS NULL OR ns.name = $2)`;

export async function failureGroups(sql: SqlContext, filter: FailureFilter = {}): Promise<FailureGroupRow[]> {
  const { rows } = await sql.db.query<Record<string, unknown>>(
    `WITH f AS (${FAILED(sql.schema)})
     SELECT fingerprint, count(*) AS steps, count(DISTINCT task_id) AS tasks,
       min(completed_at) AS first_seen, max(completed_at) AS last_seen,
       jsonb_agg(DISTINCT jsonb_build_object('namespace', namespace, 'name', task_name, 'version', version,
         'step', step)) AS affected,
       (array_agg(last_error ORDER BY completed_at DESC, id DESC))[1] AS sample,
       (array_agg(task_id ORDER BY completed_at DESC, id DESC))[1] AS sample_task_id,
       (array_agg(id ORDER BY completed_at DESC, id DESC))[1] AS sample_step_id
     FROM f GROUP BY fingerprint
     ORDER BY count(*) DESC, max(completed_at) DESC, fingerprint
     LIMIT $3`,
    [filter.since ?? null, filter.namespace ?? null, filter.limit ?? 50],
  );
  return rows.map((r) => ({
    fingerprint: String(r.fingerprint),
    steps: Number(r.steps),
    tasks: Number(r.tasks),
    firstSeen: new Date(r.first_seen as string),
    lastSeen: new Date(r.last_seen as string),
    affected: (r.affected as FailureGroupRow['affected'])
      .slice()
      .sort((a, b) =>
        `${a.namespace}/${a.name}@${a.version}:${a.step}`.localeCompare(
          `${b.namespace}/${b.name}@${b.version}:${b.step}`,
        ),
      ),
    sample: (r.sample ?? { class: 'Unknown', message: 'no error was recorded' }) as StepError,
    sampleTaskId: Number(r.sample_task_id),
    sampleStepId: Number(r.sample_step_id),
  }));
}

export async function failedSteps(
  sql: SqlContext,
  fingerprint: string,
  filter: FailureFilter = {},
): Promise<FailedStepRow[]> {
  const { rows } = await sql.db.query<Record<string, unknown>>(
    `SELECT * FROM (${FAILED(sql.schema)}) f WHERE fingerprint = $4
     ORDER BY completed_at DESC, id DESC LIMIT $3`,
    [filter.since ?? null, filter.namespace ?? null, filter.limit ?? 50, fingerprint],
  );
  return rows.map((r) => ({
    stepId: Number(r.id),
    taskId: Number(r.task_id),
    namespace: String(r.namespace),
    name: String(r.task_name),
    version: String(r.version),
    step: String(r.step),
    attempts: Number(r.attempts),
    failedAt: new Date(r.completed_at as string),
    error: r.last_error as StepError,
  }));
}

/**
 * Steps failing with a fingerprint right now but not yet for good (waiting for their next attempt): how
 * wide a problem is at this moment. Reads the ready queue (partial index steps_ready).
 */
export async function retryingWith(
  sql: SqlContext,
  fingerprints: readonly string[],
): Promise<Map<string, number>> {
  if (fingerprints.length === 0) return new Map();
  const { rows } = await sql.db.query<{ fingerprint: string; n: string }>(
    `SELECT s.last_error ->> 'fingerprint' AS fingerprint, count(*) AS n FROM ${sql.schema}.steps s
     WHERE s.state = 'waiting_for_retry' AND s.pending_parents = 0 AND s.last_error ->> 'fingerprint' = ANY ($1)
     GROUP BY 1`,
    [fingerprints],
  );
  return new Map(rows.map((r) => [r.fingerprint, Number(r.n)]));
}

/**
 * The 95th percentile of a template step's successful attempt durations over the last day, in ms (null
 * when it has not succeeded in that time): what its timeout should be compared with.
 */
export async function stepDurationP95(
  sql: SqlContext,
  step: { namespace: string; name: string; version: string; step: string },
): Promise<number | null> {
  const { rows } = await sql.db.query<{ p95: string | number | null }>(
    `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM s.completed_at - s.last_attempted_at)) * 1000 AS p95
     FROM ${sql.schema}.steps s
     JOIN ${sql.schema}.named_tasks nt ON nt.id = s.named_task_id
     JOIN ${sql.schema}.task_namespaces ns ON ns.id = nt.namespace_id
     WHERE ns.name = $1 AND nt.name = $2 AND nt.version = $3 AND s.name = $4 AND s.state = 'complete'
       AND s.completed_at >= now() - interval '1 day' AND s.last_attempted_at IS NOT NULL`,
    [step.namespace, step.name, step.version, step.step],
  );
  const p95 = rows[0]?.p95;
  return p95 == null ? null : Math.round(Number(p95));
}

/** Per attempt number: how many steps that failed with a fingerprint reached it, and how many succeeded there. */
export interface AttemptStats {
  readonly attempt: number;
  readonly reached: number;
  readonly succeeded: number;
}

/**
 * What became of the steps that failed with a fingerprint over the last `days` (their last failure had
 * it): at which attempt each finished, complete or failed for good. Reads only steps that have an error
 * (index steps_error_fingerprint).
 */
export async function attemptStats(
  sql: SqlContext,
  fingerprint: string,
  days: number,
): Promise<AttemptStats[]> {
  const { rows } = await sql.db.query<{ used: number | string; state: string; n: string }>(
    `SELECT s.attempts - s.attempts_base AS used, s.state, count(*) AS n FROM ${sql.schema}.steps s
     WHERE s.last_error IS NOT NULL AND s.last_error ->> 'fingerprint' = $1
       AND s.state IN ('complete', 'error') AND s.updated_at >= now() - make_interval(days => $2)
     GROUP BY 1, 2`,
    [fingerprint, days],
  );
  const finished = rows.map((r) => ({ used: Number(r.used), ok: r.state === 'complete', n: Number(r.n) }));
  const max = Math.max(0, ...finished.map((f) => f.used));
  const out: AttemptStats[] = [];
  for (let attempt = 2; attempt <= max; attempt++) {
    const reached = finished.filter((f) => f.used >= attempt).reduce((sum, f) => sum + f.n, 0);
    const succeeded = finished.filter((f) => f.ok && f.used === attempt).reduce((sum, f) => sum + f.n, 0);
    out.push({ attempt, reached, succeeded });
  }
  return out;
}
