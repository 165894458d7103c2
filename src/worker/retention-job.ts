/**
 * Retention in a running engine: `prune` by hand (waits for another pruner, then runs one rule) and the
 * periodic job of the configured policy, started with the first worker. The job runs soon after start
 * and then every intervalMs; when another process is pruning it gives way (at most one pruner at a time
 * across processes, by the advisory lock in prune_tasks). Every run that removed something is logged and
 * emitted as `retention.pruned`. In archive mode the tasks move into the archive instead, and each run
 * first creates the archive's partitions ahead and drops those past `keepMonths`
 * (`retention.archive_maintained` when it changed something).
 */
import { type PruneReport, runPruneRules } from '../engine/prune-tasks.js';
import {
  type PruneRequest,
  pruneRequestRule,
  pruneRequestSchema,
  type ResolvedRetention,
} from '../engine/retention-policy.js';
import {
  type ArchiveMaintenance,
  type ArchivePartition,
  archivePartitions,
  maintainArchive,
} from '../engine/sql/retention-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import { parseOrThrow } from '../parse-or-throw.js';

export type { ArchiveMaintenance, ArchivePartition, PruneReport, PruneRequest };

export interface Retention {
  /** Removes (or with dryRun counts) finished tasks as the request says. Throws TASKER_INVALID_REQUEST. */
  prune(request: PruneRequest): Promise<PruneReport>;
  /** Runs the configured policy now (waiting for another pruner); an empty report when it keeps all. */
  applyRetention(options?: { dryRun?: boolean }): Promise<PruneReport>;
  /** The archive's monthly partitions, oldest first. */
  archivePartitions(): Promise<ArchivePartition[]>;
  /** Starts the periodic job (once; a no-op without rules). */
  start(): void;
  /** Stops the job after the batch in flight. */
  stop(): Promise<void>;
}

export function createRetention(deps: {
  sql: SqlContext;
  /** Runs a database call, translating its errors (the Tasker's `db`). */
  db: <T>(fn: () => Promise<T>) => Promise<T>;
  config: ResolvedRetention;
  events: EventBus;
  logger: Logger;
}): Retention {
  const { sql, db, config, events, logger } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  const controller = new AbortController();

  const mode = config.archive ? 'archive' : 'delete';
  const report = (trigger: 'retention' | 'manual', r: PruneReport) => {
    if (r.dryRun || r.tasks === 0) return;
    const { tasks, steps, transitions, batches, durationMs } = r;
    logger.info(
      { trigger, mode: r.mode, tasks, steps, transitions, batches, durationMs },
      `${r.mode === 'archive' ? 'archived' : 'pruned'} ${tasks} finished task(s)`,
    );
    events.emit('retention.pruned', {
      trigger,
      mode: r.mode,
      tasks,
      steps,
      transitions,
      batches,
      durationMs,
    });
  };

  /** Partitions ahead, old ones dropped: before each run of the policy in archive mode. */
  const keepArchive = async () => {
    if (!config.archive) return;
    const changed = await maintainArchive(sql, config.archive.createAheadMonths, config.archive.keepMonths);
    if (changed.created.length === 0 && changed.dropped.length === 0) return;
    logger.info(
      { ...changed },
      `archive: created ${changed.created.length}, dropped ${changed.dropped.length} partition(s)`,
    );
    events.emit('retention.archive_maintained', { created: changed.created, dropped: changed.dropped });
  };

  const runJob = async () => {
    try {
      await keepArchive();
      const r = await runPruneRules(sql, config.rules, {
        batchSize: config.batchSize,
        wait: false,
        mode,
        signal: controller.signal,
      });
      if (r.skipped) logger.debug({}, 'retention: another process is pruning; skipped this run');
      report('retention', r);
    } catch (error) {
      logger.warn({ err: error }, 'retention run failed; the next run tries again');
    }
  };

  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      running = runJob().finally(() => {
        running = null;
        if (!controller.signal.aborted) schedule(config.intervalMs);
      });
    }, delayMs);
    timer.unref();
  };

  return {
    async prune(request) {
      const parsed = parseOrThrow(pruneRequestSchema, request, 'prune request', 'TASKER_INVALID_REQUEST');
      const r = await db(() =>
        runPruneRules(sql, [pruneRequestRule(parsed)], {
          batchSize: parsed.batchSize ?? config.batchSize,
          wait: true,
          dryRun: parsed.dryRun ?? false,
          mode: parsed.archive ? 'archive' : 'delete',
        }),
      );
      report('manual', r);
      return r;
    },
    async applyRetention(options = {}) {
      if (!options.dryRun) await db(keepArchive);
      const r = await db(() =>
        runPruneRules(sql, config.rules, {
          batchSize: config.batchSize,
          wait: true,
          dryRun: options.dryRun,
          mode,
        }),
      );
      report('retention', r);
      return r;
    },
    archivePartitions: () => db(() => archivePartitions(sql)),
    start() {
      if (timer || (config.rules.length === 0 && !config.archive) || controller.signal.aborted) return;
      // Soon after start, spread over a few seconds so that processes started together do not collide.
      schedule(Math.min(config.intervalMs, 2000 + Math.floor(Math.random() * 3000)));
    },
    async stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
