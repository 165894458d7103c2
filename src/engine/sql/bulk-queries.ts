/**
 * What a bulk operation applies to (src/engine/bulk-operations.ts), page by page in id order (keyset):
 * steps that failed for good, or unfinished tasks, matching a filter. Only ids are read here; each change
 * is then made by the ordinary operation, in its own short transaction.
 */
import type { SqlContext } from './sql-context.js';

export interface BulkFilter {
  readonly fingerprint?: string | undefined;
  readonly namespace?: string | undefined;
  /** Template name (with namespace). */
  readonly name?: string | undefined;
  /** Step name. */
  readonly step?: string | undefined;
  /** Failed (steps) or created (tasks) at or after this time. */
  readonly since?: Date | undefined;
  /** ... and before this time. */
  readonly until?: Date | undefined;
}

const params = (f: BulkFilter) => [
  f.fingerprint ?? null,
  f.namespace ?? null,
  f.name ?? null,
  f.step ?? null,
  f.since ?? null,
  f.until ?? null,
];

const FAILED_STEPS = (schema: string) => `
  FROM ${schema}.steps s
  JOIN ${schema}.named_tasks nt ON nt.id = s.named_task_id
  JOIN ${schema}.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE s.state = 'error'
    AND ($1::text IS NULL OR coalesce(s.last_error ->> 'fingerprint', 'class:' || coalesce(s.last_error ->> 'class', 'unknown')) = $1)
    AND ($2::text IS NULL OR ns.name = $2)
    AND ($3::text IS NULL OR nt.name = $3)
    AND ($4::text IS NULL OR s.name = $4)
    AND ($5::timestamptz IS NULL OR s.completed_at >= $5)
    AND ($6::timestamptz IS NULL OR s.completed_at < $6)`;

const UNFINISHED_TASKS = (schema: string) => `
  FROM ${schema}.tasks t
  JOIN ${schema}.named_tasks nt ON nt.id = t.named_task_id
  JOIN ${schema}.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE t.state IN ('pending', 'in_progress')
    AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM ${schema}.steps s WHERE s.task_id = t.id
      AND s.last_error ->> 'fingerprint' = $1 AND s.state IN ('waiting_for_retry', 'error')))
    AND ($2::text IS NULL OR ns.name = $2)
    AND ($3::text IS NULL OR nt.name = $3)
    AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM ${schema}.steps s WHERE s.task_id = t.id AND s.name = $4))
    AND ($5::timestamptz IS NULL OR t.created_at >= $5)
    AND ($6::timestamptz IS NULL OR t.created_at < $6)`;

/** Failed steps matching, after `afterId`: step and task ids. */
export async function failedStepPage(
  sql: SqlContext,
  filter: BulkFilter,
  afterId: number,
  limit: number,
): Promise<Array<{ stepId: number; taskId: number }>> {
  const { rows } = await sql.db.query<{ id: string | number; task_id: string | number }>(
    `SELECT s.id, s.task_id ${FAILED_STEPS(sql.schema)} AND s.id > $7 ORDER BY s.id LIMIT $8`,
    [...params(filter), afterId, limit],
  );
  return rows.map((r) => ({ stepId: Number(r.id), taskId: Number(r.task_id) }));
}

export async function countFailedSteps(
  sql: SqlContext,
  filter: BulkFilter,
): Promise<{ steps: number; tasks: number }> {
  const { rows } = await sql.db.query<{ steps: string; tasks: string }>(
    `SELECT count(*) AS steps, count(DISTINCT s.task_id) AS tasks ${FAILED_STEPS(sql.schema)}`,
    params(filter),
  );
  return { steps: Number(rows[0]!.steps), tasks: Number(rows[0]!.tasks) };
}

/** Unfinished tasks matching, after `afterId`. */
export async function unfinishedTaskPage(
  sql: SqlContext,
  filter: BulkFilter,
  afterId: number,
  limit: number,
): Promise<number[]> {
  const { rows } = await sql.db.query<{ id: string | number }>(
    `SELECT t.id ${UNFINISHED_TASKS(sql.schema)} AND t.id > $7 ORDER BY t.id LIMIT $8`,
    [...params(filter), afterId, limit],
  );
  return rows.map((r) => Number(r.id));
}

export async function countUnfinishedTasks(sql: SqlContext, filter: BulkFilter): Promise<number> {
  const { rows } = await sql.db.query<{ n: string }>(
    `SELECT count(*) AS n ${UNFINISHED_TASKS(sql.schema)}`,
    params(filter),
  );
  return Number(rows[0]!.n);
}
