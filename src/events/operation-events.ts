/** Events for the operations a caller performs (cancel, retry, resolve), emitted once they are committed. */
import type { Operations } from '../engine/operations.js';
import type { Task } from '../model/types.js';
import type { TaskerEventBus } from './tasker-events.js';

export interface OperationLookups {
  task(taskId: number): Promise<Task | null>;
  taskIdOfStep(stepId: number): Promise<number | null>;
}

/**
 * `lookups` find the task for payloads (template labels; whether resolving a step finished its task);
 * they run only when someone listens, and a failed lookup leaves the labels empty.
 */
export function withOperationEvents(
  operations: Operations,
  events: TaskerEventBus,
  lookups: OperationLookups,
): Operations {
  const labels = (taskId: number) => lookups.task(taskId).catch(() => null);
  return {
    ...operations,
    async cancelTask(taskId, options = {}) {
      const state = await operations.cancelTask(taskId, options);
      if (events.has('task.cancelled')) {
        const template = await labels(taskId).catch(() => null);
        events.emit('task.cancelled', {
          taskId,
          namespace: template?.namespace ?? '',
          name: template?.name ?? '',
          version: template?.version ?? '',
          state,
          reason: options.reason ?? null,
        });
      }
      return state;
    },
    async retryTask(taskId, options = {}) {
      const state = await operations.retryTask(taskId, options);
      events.emit('task.retry_requested', { taskId, state, reason: options.reason ?? null });
      return state;
    },
    async resolveStep(stepId, results, options = {}) {
      const state = await operations.resolveStep(stepId, results, options);
      events.emit('step.resolved_manually', { stepId, state, reason: options.reason ?? null });
      // Resolving the last unfinished step finishes the task in the same transaction: complete, or
      // resolved_manually when the task was in error.
      const finished =
        state === 'complete'
          ? 'task.completed'
          : state === 'resolved_manually'
            ? 'task.resolved_manually'
            : null;
      if (finished && events.has(finished)) {
        const taskId = await lookups.taskIdOfStep(stepId).catch(() => null);
        const task = taskId === null ? null : await labels(taskId);
        if (task) {
          events.emit(finished, {
            taskId: task.id,
            namespace: task.namespace,
            name: task.name,
            version: task.version,
            state,
            startedAt: task.startedAt,
            createdAt: task.createdAt,
          });
        }
      }
      return state;
    },
  };
}
