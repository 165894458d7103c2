/**
 * Archived tasks are read-only. An operation on one (cancel, retry, resolve, signal, edit, introspect)
 * finds no live row and would answer "task 5 does not exist" although reading task 5 shows it; this
 * turns that not-found into TASKER_TASK_ARCHIVED, saying when it was archived. The archive is looked
 * at only after an operation found nothing, so live operations cost nothing more.
 */

import type { SqlContext } from '../engine/sql/sql-context.js';
import { archivedAt } from '../engine/sql/task-queries.js';
import { isTaskerError, TaskerError } from '../errors.js';

/** For each guarded method: whether its first argument is a task id or a step id. */
export type IdKinds<T> = { readonly [K in keyof T]?: 'task' | 'step' };

export function refuseArchived<T extends object>(
  sql: SqlContext,
  db: <R>(fn: () => Promise<R>) => Promise<R>,
  methods: T,
  kinds: IdKinds<T>,
): T {
  const guarded: Record<string, unknown> = { ...(methods as Record<string, unknown>) };
  for (const [name, kind] of Object.entries(kinds) as Array<[string, 'task' | 'step']>) {
    const method = guarded[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        const missing =
          isTaskerError(error, 'TASKER_TASK_NOT_FOUND') || isTaskerError(error, 'TASKER_STEP_NOT_FOUND');
        const id = args[0];
        if (!missing || typeof id !== 'number') throw error;
        const when = await db(() => archivedAt(sql, kind, id));
        if (!when) throw error;
        throw new TaskerError(
          'TASKER_TASK_ARCHIVED',
          `${kind === 'task' ? `task ${id} is` : `step ${id} belongs to a task that is`} in the archive (since ${when.toISOString()}): archived tasks can be read but not changed`,
        );
      }
    };
  }
  return guarded as T;
}
