/**
 * Retention in a running engine: `prune` by hand (waits for another pruner, then runs one rule) and the
 * periodic job of the configured policy, started with the first worker. The job runs soon after start
 * and then every intervalMs; when another process is pruning it gives way (at most one pruner at a time
 * across processes, by the advisory lock in prune_tasks). Every run that removed something is logged and
 * emitted as `retention.pruned`.
 */
import { type PruneReport, runPruneRules } from '../engine/prune-tasks.js';
import {
  type PruneRequest,
  pruneRequestRule,
  pruneRequestSchema,
  type ResolvedRetention,
} from '../engine/retention-policy.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import { parseOrThrow } from '../parse-or-throw.js';

export type { PruneReport, PruneRequest };

export interface Retention {
  /** Removes (or with dryRun counts) finished tasks as the request says. Throws TASKER_INVALID_REQUEST. */
  prune(request: PruneRequest): Promise<PruneReport>;
  /** Runs the configured policy now (waiting for another pruner); an empty report when it keeps all. */
  applyRetention(options?: { dryRun?: boolean }): Promise<PruneReport>;
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

  const report = (trigger: 'retention' | 'manual', r: PruneReport) => {
    if (r.dryRun || r.tasks === 0) return;
    const { tasks, steps, transitions, batches, durationMs } = r;
    logger.info(
      { trigger, tasks, steps, transitions, batches, durationMs },
      `pruned ${tasks} finished task(s)`,
    );
    events.emit('retention.pruned', { trigger, tasks, steps, transitions, batches, durationMs });
  };

  const runJob = async () => {
    try {
      const r = await runPruneRules(sql, config.rules, {
        batchSize: config.batchSize,
        wait: false,
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
        }),
      );
      report('manual', r);
      return r;
    },
    async applyRetention(options = {}) {
      const r = await db(() =>
        runPruneRules(sql, config.rules, { batchSize: config.batchSize, wait: true, dryRun: options.dryRun }),
      );
      report('retention', r);
      return r;
    },
    start() {
      if (timer || config.rules.length === 0 || controller.signal.aborted) return;
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
