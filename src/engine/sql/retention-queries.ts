/**
 * Removing old finished tasks (prune_tasks, migrations 15 and 28) or moving them into the archive
 * (archive_tasks, migration 28), counting what would go (the dry run), and keeping the archive's monthly
 * partitions.
 */
import type { PruneRule } from '../retention-policy.js';
import type { SqlContext } from './sql-context.js';

export interface PrunedCounts {
  readonly tasks: number;
  readonly steps: number;
  /** Audit rows: task and step transitions. */
  readonly transitions: number;
}

/** Delete expired tasks, or move them into the archive. */
export type PruneMode = 'delete' | 'archive';

/** One batch; `locked: false` when another process is pruning and `wait` was false. */
export async function pruneBatch(
  sql: SqlContext,
  rule: PruneRule,
  limit: number,
  wait: boolean,
  mode: PruneMode = 'delete',
): Promise<PrunedCounts & { locked: boolean }> {
  const fn = mode === 'archive' ? 'archive_tasks' : 'prune_tasks';
  const { rows } = await sql.db.query<{ tasks: string; steps: string; transitions: string; locked: boolean }>(
    `SELECT tasks, steps, transitions, locked FROM ${sql.schema}.${fn}($1, $2, $3, $4, $5, $6, $7)`,
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

export interface ArchiveMaintenance {
  /** Partitions created (names, archived_tasks_YYYY_MM). */
  readonly created: string[];
  /** Partitions dropped, with the tasks they held. */
  readonly dropped: string[];
}

/** Creates this month's partition and `ahead` more; drops those older than `keepMonths` (null: none). */
export async function maintainArchive(
  sql: SqlContext,
  ahead: number,
  keepMonths: number | null,
): Promise<ArchiveMaintenance> {
  const { rows } = await sql.db.query<{ created: string[]; dropped: string[] }>(
    `SELECT created, dropped FROM ${sql.schema}.maintain_archive($1, $2)`,
    [ahead, keepMonths],
  );
  return { created: rows[0]?.created ?? [], dropped: rows[0]?.dropped ?? [] };
}

export interface ArchivePartition {
  readonly name: string;
  /** The first day of its month (UTC). */
  readonly month: string;
  /** Estimated (as of the partition's last ANALYZE or VACUUM); null before the first. */
  readonly tasks: number | null;
  readonly bytes: number;
}

export async function archivePartitions(sql: SqlContext): Promise<ArchivePartition[]> {
  const { rows } = await sql.db.query<{ name: string; month: string; tasks: string | null; bytes: string }>(
    `SELECT name, to_char(month, 'YYYY-MM-DD') AS month, tasks, bytes FROM ${sql.schema}.archive_partitions()`,
  );
  return rows.map((r) => ({
    name: r.name,
    month: r.month,
    tasks: r.tasks === null ? null : Number(r.tasks),
    bytes: Number(r.bytes),
  }));
}
