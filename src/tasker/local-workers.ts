/**
 * The workers a Tasker starts in its process: each serves the registered templates of the namespaces it
 * asks for, with every handler resolved and every rate limit it uses known before it claims anything.
 * Starting the first one also starts the background jobs workers carry (retention, schedule ticks).
 */

import { z } from 'zod';
import type { TemplateRegistry } from '../definitions/registry.js';
import type { TaskTemplate } from '../definitions/types.js';
import type { ClaimLoan } from '../engine/create-tasks.js';
import { applyRateLimits } from '../engine/rate-limits.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { TaskerError } from '../errors.js';
import { parseOrThrow } from '../parse-or-throw.js';
import {
  type LocalWorker,
  startWorker,
  type Worker,
  type WorkerDeps,
  type WorkerOptions,
} from '../worker/worker.js';

/** startWorker's options, checked before anything starts (their meaning: WorkerOptions). */
const workerOptionsSchema = z
  .object({
    concurrency: z.number().int().min(1).max(10_000).optional(),
    prefetch: z.number().int().min(0).max(10_000).optional(),
    namespaces: z.array(z.string().min(1)).optional(),
    name: z.string().min(1).max(200).optional(),
    handleSignals: z.boolean().optional(),
  })
  .strict();

export interface LocalWorkers {
  start(options?: WorkerOptions): Promise<Worker>;
  /** Steps running now in this process's workers. */
  runningSteps(): number;
  /** Workers still running. */
  runningWorkers(): number;
  /** Stops every worker (gracefully). */
  stopAll(): Promise<void>;
  /** Room lent by a running worker that serves the template, for createTask to claim into (migration 40). */
  lendClaim(namedTaskId: number): ClaimLoan | null;
}

export interface LocalWorkersDeps {
  readonly sql: SqlContext;
  readonly registry: TemplateRegistry;
  /** The stored id of a template (stored on first use). */
  readonly templateId: (template: TaskTemplate) => Promise<number>;
  /** Everything a worker needs but its templates. */
  readonly workerDeps: Omit<WorkerDeps, 'templates' | 'onStopped'>;
  /** Called when a worker has started (background jobs start with the first). */
  readonly onStarted: () => void;
}

export function createLocalWorkers(deps: LocalWorkersDeps): LocalWorkers {
  const workers = new Set<LocalWorker>();
  return {
    async start(given = {}) {
      const options: WorkerOptions = parseOrThrow(workerOptionsSchema, given, 'worker options');
      const wanted = options.namespaces;
      const served = deps.registry.list().filter((t) => !wanted || wanted.includes(t.namespace));
      if (served.length === 0) {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          wanted
            ? `no registered task templates in namespaces ${wanted.join(', ')}`
            : 'register at least one task template before starting a worker',
        );
      }
      const templates = new Map<number, TaskTemplate>();
      const usedLimits = new Map<string, string[]>();
      for (const template of served) {
        for (const step of template.steps) {
          deps.workerDeps.resolveHandler(template, step); // fail early on a missing handler
          for (const { name } of step.rateLimits) {
            usedLimits.set(name, [
              ...(usedLimits.get(name) ?? []),
              `${template.fullName} step "${step.name}"`,
            ]);
          }
        }
        templates.set(await deps.templateId(template), template);
      }
      await applyRateLimits(deps.sql, [], usedLimits);
      const worker = await startWorker(
        { ...deps.workerDeps, templates, onStopped: (w) => workers.delete(w) },
        options,
      );
      workers.add(worker);
      deps.onStarted();
      return worker;
    },
    runningSteps: () => [...workers].reduce((sum, w) => sum + w.running, 0),
    runningWorkers: () => [...workers].filter((w) => w.state === 'running').length,
    stopAll: async () => {
      await Promise.all([...workers].map((w) => w.stop()));
    },
    lendClaim(namedTaskId) {
      for (const worker of workers) {
        const loan = worker.lendClaim(namedTaskId);
        if (loan) return loan;
      }
      return null;
    },
  };
}
