/**
 * Bulk operations by filter (issue 12, part 4): retry the tasks whose steps failed for good, resolve
 * those steps with given results, or cancel unfinished tasks, for everything a filter matches (a
 * failure group's fingerprint, a template, a step, a time range). A dry run counts what would change.
 * The work goes page by page, each change through the ordinary operation in its own short transaction,
 * so no lock is held for long; every change records in the task's audit trail who asked and why.
 */
import { z } from 'zod';
import { isTaskerError, TaskerError } from '../errors.js';
import { parseOrThrow } from '../parse-or-throw.js';
import type { Operations } from './operations.js';
import {
  type BulkFilter,
  countFailedSteps,
  countUnfinishedTasks,
  failedStepPage,
  unfinishedTaskPage,
} from './sql/bulk-queries.js';
import type { SqlContext } from './sql/sql-context.js';

const isoTime = z.iso.datetime({ offset: true });

function requestSchema<T extends z.ZodType>(when: T) {
  const filter = z
    .object({
      /** A failure group (tasker failures). */
      fingerprint: z.string().min(1).max(200).optional(),
      namespace: z.string().min(1).max(64).optional(),
      /** A template name (with namespace). */
      name: z.string().min(1).max(128).optional(),
      step: z.string().min(1).max(128).optional(),
      /** From this time (failed steps: when they failed; unfinished tasks: when they were created). */
      since: when.optional(),
      until: when.optional(),
    })
    .strict()
    .refine((f) => f.name === undefined || f.namespace !== undefined, {
      path: ['name'],
      message: 'expected namespace too: a template name is looked up in its namespace',
    });
  return z
    .object({
      filter,
      /** Why: kept in every affected task's audit trail. */
      reason: z.string().min(1).max(300),
      /** Who asked (a person or a system); kept with the reason. */
      requestedBy: z.string().min(1).max(100).optional(),
      /** resolve only: the results the steps get. */
      results: z.unknown().optional(),
      /** Count what would change; change nothing. @defaultValue false */
      dryRun: z.boolean().optional(),
      /** Most items changed in one call. @defaultValue 10000 */
      limit: z.number().int().min(1).max(100_000).optional(),
    })
    .strict();
}

/** The library's request: times as Dates or ISO 8601 strings. */
export const bulkRequestSchema = requestSchema(z.union([z.date(), isoTime]));
/** The same over HTTP (times as ISO 8601 strings). */
export const bulkRequestWireSchema = requestSchema(isoTime);
export type BulkRequest = z.input<typeof bulkRequestSchema>;
export type BulkAction = 'retry' | 'resolve' | 'cancel';

export interface BulkReport {
  readonly action: BulkAction;
  readonly dryRun: boolean;
  /** What the filter matched: tasks (retry, cancel) or steps (resolve). */
  readonly matched: number;
  readonly changed: number;
  /** Items that could not be changed (another operation got there first), with why: at most 50. */
  readonly failed: ReadonlyArray<{ id: number; code: string; message: string }>;
  readonly durationMs: number;
}

const PAGE = 100;

export function createBulkOperations(deps: {
  sql: SqlContext;
  db: <T>(fn: () => Promise<T>) => Promise<T>;
  operations: Pick<Operations, 'retryTask' | 'resolveStep' | 'cancelTask'>;
}) {
  const { sql, db, operations } = deps;

  return async function bulk(action: BulkAction, request: BulkRequest): Promise<BulkReport> {
    if (!['retry', 'resolve', 'cancel'].includes(action)) {
      throw new TaskerError(
        'TASKER_INVALID_REQUEST',
        `action must be retry, resolve or cancel, got ${JSON.stringify(action)}`,
      );
    }
    const r = parseOrThrow(bulkRequestSchema, request, `bulk ${action} request`, 'TASKER_INVALID_REQUEST');
    if (action === 'resolve' && r.results === undefined) {
      throw new TaskerError(
        'TASKER_INVALID_REQUEST',
        'bulk resolve needs results: what the resolved steps return',
        {
          details: [{ path: 'results', message: 'required for resolve' }],
        },
      );
    }
    const started = performance.now();
    const filter: BulkFilter = {
      ...r.filter,
      since: r.filter.since === undefined ? undefined : new Date(r.filter.since),
      until: r.filter.until === undefined ? undefined : new Date(r.filter.until),
    };
    const limit = r.limit ?? 10_000;
    const reason =
      `${r.reason} (bulk ${action}${r.requestedBy ? ` requested by ${r.requestedBy}` : ''})`.slice(0, 500);
    const failed: Array<{ id: number; code: string; message: string }> = [];
    const done = (matched: number, changed: number): BulkReport => ({
      action,
      dryRun: r.dryRun === true,
      matched,
      changed,
      failed,
      durationMs: Math.round(performance.now() - started),
    });

    if (action === 'cancel') {
      if (r.dryRun) return done(await db(() => countUnfinishedTasks(sql, filter)), 0);
      let after = 0;
      let matched = 0;
      let changed = 0;
      while (matched < limit) {
        const ids = await db(() => unfinishedTaskPage(sql, filter, after, Math.min(PAGE, limit - matched)));
        if (ids.length === 0) break;
        for (const id of ids) {
          matched += 1;
          await apply(id, () => operations.cancelTask(id, { reason })).then((ok) => {
            if (ok) changed += 1;
          });
        }
        after = ids.at(-1)!;
      }
      return done(matched, changed);
    }

    if (r.dryRun) {
      const counts = await db(() => countFailedSteps(sql, filter));
      return done(action === 'retry' ? counts.tasks : counts.steps, 0);
    }
    let after = 0;
    let matched = 0;
    let changed = 0;
    const retried = new Set<number>();
    while (matched < limit) {
      const page = await db(() => failedStepPage(sql, filter, after, PAGE));
      if (page.length === 0) break;
      for (const { stepId, taskId } of page) {
        if (matched >= limit) break;
        if (action === 'retry') {
          // A task is retried once, whatever number of its steps matched.
          if (retried.has(taskId)) continue;
          retried.add(taskId);
          matched += 1;
          if (await apply(taskId, () => operations.retryTask(taskId, { reason }))) changed += 1;
        } else {
          matched += 1;
          if (await apply(stepId, () => operations.resolveStep(stepId, r.results, { reason }))) changed += 1;
        }
      }
      after = page.at(-1)!.stepId;
    }
    return done(matched, changed);

    async function apply(id: number, fn: () => Promise<unknown>): Promise<boolean> {
      try {
        await fn();
        return true;
      } catch (error) {
        if (!isTaskerError(error)) throw error;
        if (failed.length < 50) failed.push({ id, code: error.code, message: error.message });
        return false;
      }
    }
  };
}
