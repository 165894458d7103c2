/** Events for the operations a caller performs (cancel, retry, resolve), emitted once they are committed. */
import type { Operations } from '../engine/operations.js';
import type { TemplateLabels } from './catalog.js';
import type { TaskerEventBus } from './tasker-events.js';

/** `labels` finds a task's template (for task.cancelled); a failure leaves them empty. */
export function withOperationEvents(
  operations: Operations,
  events: TaskerEventBus,
  labels: (taskId: number) => Promise<TemplateLabels | null>,
): Operations {
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
      return state;
    },
  };
}
