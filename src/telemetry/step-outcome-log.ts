/**
 * A log line per finished step attempt and per finished task, from the events the engine emits after each
 * outcome is committed: what `tasker worker` and `tasker serve` show at info level, so a person watching a
 * worker sees work happen (as graphile-worker prints each completed job). Library users get the same with
 * `logStepOutcomes(tasker.events, logger)`.
 */
import type { TaskerEventBus } from '../events/tasker-events.js';
import type { Logger } from '../model/logger.js';

const template = (e: { namespace: string; name: string; version: string }) =>
  `${e.namespace}/${e.name}@${e.version}`;

/** Milliseconds to a tenth: enough for a person, no float noise. */
const ms = (value: number) => Math.round(value * 10) / 10;

/** From the task's creation to the event. */
const since = (e: { createdAt: Date | null; timestamp: string }) =>
  e.createdAt ? Date.parse(e.timestamp) - new Date(e.createdAt).getTime() : undefined;

/** Subscribes; returns the function that unsubscribes. */
export function logStepOutcomes(events: TaskerEventBus, logger: Logger): () => void {
  const offs = [
    events.on('step.completed', (e) => {
      logger.info(
        {
          taskId: e.taskId,
          task: template(e),
          step: e.stepName,
          stepId: e.stepId,
          attempt: e.attempt,
          durationMs: ms(e.durationMs),
        },
        `step ${e.stepName} complete`,
      );
    }),
    events.on('step.failed', (e) => {
      const fields = {
        taskId: e.taskId,
        task: template(e),
        step: e.stepName,
        stepId: e.stepId,
        attempt: e.attempt,
        durationMs: ms(e.durationMs),
        error: e.error ? `${e.error.code ? `${e.error.code}: ` : ''}${e.error.message}` : undefined,
      };
      if (e.willRetry) {
        const at = e.retryAt ? ` at ${new Date(e.retryAt).toISOString()}` : '';
        logger.warn({ ...fields, retryAt: e.retryAt }, `step ${e.stepName} failed, retrying${at}`);
      } else {
        logger.error(fields, `step ${e.stepName} failed for good${e.permanent ? ' (permanent)' : ''}`);
      }
    }),
    events.on('task.completed', (e) => {
      logger.info({ taskId: e.taskId, task: template(e), durationMs: since(e) }, `task ${e.taskId} complete`);
    }),
    events.on('task.failed', (e) => {
      logger.error({ taskId: e.taskId, task: template(e), durationMs: since(e) }, `task ${e.taskId} failed`);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
