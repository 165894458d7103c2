/**
 * Running prune rules: batch after batch until a rule has nothing left older than its age, each batch
 * its own short transaction (prune_tasks). The retention job (workers) gives way when another process
 * is pruning; a prune asked for by hand waits its turn.
 */

import type { PruneRule } from './retention-policy.js';
import { countPrunable, type PrunedCounts, type PruneMode, pruneBatch } from './sql/retention-queries.js';
import type { SqlContext } from './sql/sql-context.js';

export interface PruneReport extends PrunedCounts {
  /** 'archive': the tasks were moved into the archive; 'delete': removed. */
  readonly mode: PruneMode;
  /** Nothing was removed: only counted. */
  readonly dryRun: boolean;
  /** Another process was pruning, so this run stopped (the retention job only). */
  readonly skipped: boolean;
  readonly batches: number;
  readonly durationMs: number;
}

export interface PruneRunOptions {
  /** Tasks per transaction. */
  readonly batchSize: number;
  /** Wait for another pruner (true: by hand) or give way to it (false: the periodic job). */
  readonly wait: boolean;
  readonly dryRun?: boolean;
  /** @defaultValue 'delete' */
  readonly mode?: PruneMode;
  /** Checked between batches: stop early (a worker shutting down). */
  readonly signal?: AbortSignal;
}

export async function runPruneRules(
  sql: SqlContext,
  rules: readonly PruneRule[],
  options: PruneRunOptions,
): Promise<PruneReport> {
  const started = performance.now();
  const mode = options.mode ?? 'delete';
  let tasks = 0;
  let steps = 0;
  let transitions = 0;
  let batches = 0;
  let skipped = false;
  const add = (c: PrunedCounts) => {
    tasks += c.tasks;
    steps += c.steps;
    transitions += c.transitions;
  };
  for (const rule of rules) {
    if (options.dryRun) {
      add(await countPrunable(sql, rule));
      continue;
    }
    for (;;) {
      if (options.signal?.aborted) break;
      const batch = await pruneBatch(sql, rule, options.batchSize, options.wait, mode);
      if (!batch.locked) {
        skipped = true;
        break;
      }
      batches += 1;
      add(batch);
      if (batch.tasks < options.batchSize) break;
    }
    if (skipped) break;
  }
  return {
    tasks,
    steps,
    transitions,
    batches,
    mode,
    dryRun: options.dryRun === true,
    skipped,
    durationMs: Math.round(performance.now() - started),
  };
}
