/**
 * The events a round trip's reply gives rise to, emitted once it has committed: a task that finished, and
 * each recorded outcome (completed, failed with or without a retry, refused by the lease fence, or a wait
 * for a child task or a batch).
 */
import type { TaskTemplate } from '../definitions/types.js';
import type { DispatchRow } from '../engine/sql/dispatch-queries.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import type { StepRunInfo } from '../model/step-run.js';
import type { PendingOutcome } from './worker-slots.js';

export function emitTaskFinished(
  events: EventBus,
  templates: ReadonlyMap<number, TaskTemplate>,
  row: DispatchRow,
): void {
  const template = templates.get(row.named_task_id!);
  events.emitFresh(row.state === 'complete' ? 'task.completed' : 'task.failed', {
    taskId: row.task_id,
    namespace: template?.namespace ?? '',
    name: template?.name ?? '',
    version: template?.version ?? '',
    state: row.state,
    startedAt: row.run_at,
    createdAt: row.task_created_at,
  });
}

export function emitOutcomeEvents(
  events: EventBus,
  log: Logger,
  workerId: string,
  batch: readonly PendingOutcome[],
  refused: ReadonlySet<number>,
  retries: ReadonlyMap<number, Date | null>,
): void {
  for (const { outcome, info, durationMs } of batch) {
    // Payloads are built only for events someone listens to, each its own object with its fields added
    // one by one: on Node 20 `{ ...info, more }` took microseconds (see event-bus.ts).
    // Waiting for a child task or a batch is not an outcome: the step runs again when it is done.
    if (outcome.await_child !== undefined || outcome.await_batch !== undefined) {
      if (refused.has(outcome.step_id) || !events.has('step.waiting')) continue;
      const waiting = attemptPayload(info, workerId);
      waiting.waitingFor = outcome.await_child !== undefined ? 'child' : 'batch';
      waiting.childTaskId = typeof outcome.await_child === 'number' ? outcome.await_child : null;
      waiting.workers = outcome.await_batch?.items.length ?? null;
      events.emitFresh('step.waiting', waiting);
      continue;
    }
    if (refused.has(outcome.step_id)) {
      log.warn({ stepId: outcome.step_id }, 'outcome refused: the step is no longer leased to this worker');
      if (events.has('step.outcome_refused')) {
        events.emitFresh('step.outcome_refused', attemptPayload(info, workerId, durationMs));
      }
    } else if (outcome.ok) {
      if (events.has('step.completed')) {
        events.emitFresh('step.completed', attemptPayload(info, workerId, durationMs));
      }
      if (outcome.skip_children && events.has('step.decided')) {
        const decided = attemptPayload(info, workerId, durationMs);
        decided.skipped = outcome.skip_children;
        events.emitFresh('step.decided', decided);
      }
    } else if (events.has('step.failed')) {
      const failed = attemptPayload(info, workerId, durationMs);
      failed.error = outcome.error;
      failed.permanent = outcome.permanent ?? false;
      failed.willRetry = retries.has(outcome.step_id);
      failed.retryAt = retries.get(outcome.step_id) ?? null;
      events.emitFresh('step.failed', failed);
    }
  }
}

/**
 * What every event of a step attempt carries (StepAttemptPayload), as one literal written out, with the
 * attempt's duration once it ended: callers add their event's own fields to it one by one.
 */
export function attemptPayload(
  info: StepRunInfo,
  workerId: string,
  durationMs?: number,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    taskId: info.taskId,
    stepId: info.stepId,
    stepName: info.stepName,
    namespace: info.namespace,
    name: info.name,
    version: info.version,
    attempt: info.attempt,
    correlationId: info.correlationId,
    traceparent: info.traceparent,
    workerId,
  };
  if (durationMs !== undefined) payload.durationMs = durationMs;
  return payload;
}
