/** Removing old finished tasks (prune_tasks, migration 15) and counting what would go (the dry run). */
import type { PruneRule } from '../retention-policy.js';
import type { SqlContext } from './sql-context.js';

export interface PrunedCounts {
  readonly tasks: number;
  readonly steps: number;
  /** Audit rows: task and step transitions. */
  readonly transitions: number;
}

/** One batch; `locked: false` when another process is pruning and `wait` was false. */
export async function pruneBatch(
  sql: SqlContext,
  rule: PruneRule,
  limit: number,
  wait: boolean,
): Promise<PrunedCounts & { locked: boolean }> {
  const { rows } = await sql.db.query<{ tasks: string; steps: string; transitions: string; locked: boolean }>(
    `SELECT tasks, steps, transitions, locked FROM ${sql.schema}.prune_tasks($1, $2, $3, $4, $5, $6, $7)`,
    [rule.states, rule.olderThanMs, limit, rule.namespace, rule.name, rule.exclude, wait],
  );
  const r = rows[0]!;
  return {
    tasks: Number(r.tasks),
    steps: Number(r.steps),
    transitions: Number(r.transitions),
    locked: r.locked,
  };
}

export async function countPrunable(sql: SqlContext, rule: PruneRule): Promise<PrunedCounts> {
  const { rows } = await sql.db.query<{ tasks: string; steps: string; transitions: string }>(
    `SELECT tasks, steps, transitions FROM ${sql.schema}.count_prunable_tasks($1, $2, $3, $4, $5)`,
    [rule.states, rule.olderThanMs, rule.namespace, rule.name, rule.exclude],
  );
  const r = rows[0]!;
  return { tasks: Number(r.tasks), steps: Number(r.steps), transitions: Number(r.transitions) };
}
