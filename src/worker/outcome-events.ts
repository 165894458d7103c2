/**
 * The events a round trip's reply gives rise to, emitted once it has committed: a task that finished, and
 * each recorded outcome (completed, failed with or without a retry, refused by the lease fence, or a wait
 * for a child task or a batch).
 */
import type { TaskTemplate } from '../definitions/types.js';
import type { DispatchRow } from '../engine/sql/dispatch-queries.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import type { PendingOutcome } from './worker-slots.js';

export function emitTaskFinished(
  events: EventBus,
  templates: ReadonlyMap<number, TaskTemplate>,
  row: DispatchRow,
): void {
  const template = templates.get(row.named_task_id!);
  events.emit(row.state === 'complete' ? 'task.completed' : 'task.failed', {
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
    const base = { ...info, durationMs, workerId };
    // Waiting for a child task or a batch is not an outcome: the step runs again when it is done.
    if (outcome.await_child !== undefined || outcome.await_batch !== undefined) {
      if (refused.has(outcome.step_id)) continue;
      events.emit('step.waiting', {
        ...info,
        workerId,
        waitingFor: outcome.await_child !== undefined ? 'child' : 'batch',
        childTaskId: typeof outcome.await_child === 'number' ? outcome.await_child : null,
        workers: outcome.await_batch?.items.length ?? null,
      });
      continue;
    }
    if (refused.has(outcome.step_id)) {
      log.warn({ stepId: outcome.step_id }, 'outcome refused: the step is no longer leased to this worker');
      events.emit('step.outcome_refused', base);
    } else if (outcome.ok) {
      events.emit('step.completed', base);
      if (outcome.skip_children) events.emit('step.decided', { ...base, skipped: outcome.skip_children });
    } else {
      const willRetry = retries.has(outcome.step_id);
      events.emit('step.failed', {
        ...base,
        error: outcome.error,
        permanent: outcome.permanent ?? false,
        willRetry,
        retryAt: retries.get(outcome.step_id) ?? null,
      });
    }
  }
}
