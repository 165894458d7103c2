/**
 * Waiting for tasks to finish: one subscription to task-state notifications per engine routes them to
 * waiters by id; a slow poll covers notifications missed while a connection was down.
 */
import { TaskerError } from '../errors.js';
import type { TaskState } from '../model/states.js';
import type { TaskWithSteps } from '../model/types.js';
import type { NotificationHub } from './notifications.js';
import type { SqlContext } from './sql/sql-context.js';
import { taskStates } from './sql/task-queries.js';

const FINAL: ReadonlySet<TaskState> = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);
const POLL_MS = 2000;

export interface TaskWaiter {
  wait(id: number, options?: { timeoutMs?: number }): Promise<TaskWithSteps>;
}

export function createTaskWaiter(deps: {
  sql: SqlContext;
  notifications: NotificationHub;
  getTask: (id: number) => Promise<TaskWithSteps>;
}): TaskWaiter {
  const waiting = new Map<number, Set<() => void>>();
  let subscribed: Promise<unknown> | null = null;
  let poller: NodeJS.Timeout | undefined;

  const wake = (id: number) => {
    const set = waiting.get(id);
    if (!set) return;
    waiting.delete(id);
    for (const done of set) done();
  };

  const onNotification = (payload: string) => {
    if (waiting.size === 0) return;
    let changes: Array<[number, TaskState]>;
    try {
      changes = JSON.parse(payload);
    } catch {
      return;
    }
    for (const [id, state] of changes) if (FINAL.has(state)) wake(id);
  };

  const poll = async () => {
    if (waiting.size === 0) return;
    try {
      const states = await taskStates(deps.sql, [...waiting.keys()]);
      for (const [id, state] of states) if (FINAL.has(state)) wake(id);
    } catch {
      // the next poll tries again
    }
  };

  return {
    async wait(id, options = {}) {
      if (!Number.isSafeInteger(id) || id <= 0) {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          `task id must be a positive integer, got ${JSON.stringify(id)}`,
        );
      }
      subscribed ??= Promise.all([
        deps.notifications.subscribe(deps.sql.channels.task, onNotification),
        deps.notifications.onReconnect(() => void poll()),
      ]);
      await subscribed;
      if (!poller) {
        poller = setInterval(() => void poll(), POLL_MS);
        poller.unref();
      }
      let done!: () => void;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const set = waiting.get(id) ?? new Set();
      set.add(done);
      waiting.set(id, set);
      // Checked after subscribing, so a change in between is not missed.
      const states = await taskStates(deps.sql, [id]);
      const state = states.get(id);
      if (state === undefined) {
        set.delete(done);
        throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${id} does not exist`);
      }
      if (FINAL.has(state)) wake(id);
      if (options.timeoutMs !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
        });
        const outcome = await Promise.race([finished, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          waiting.get(id)?.delete(done);
          throw new TaskerError(
            'TASKER_WAIT_TIMEOUT',
            `task ${id} did not finish within ${options.timeoutMs} ms`,
          );
        }
      } else {
        await finished;
      }
      return deps.getTask(id);
    },
  };
}
