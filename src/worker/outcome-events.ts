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
    // Each event gets its own payload, written out: on Node 20 `{ ...info, durationMs }` took microseconds
    // (see event-bus.ts).
    const attempt = () => attemptPayload(info, workerId, durationMs);
    // Waiting for a child task or a batch is not an outcome: the step runs again when it is done.
    if (outcome.await_child !== undefined || outcome.await_batch !== undefined) {
      if (refused.has(outcome.step_id)) continue;
      events.emitFresh('step.waiting', {
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
      events.emitFresh('step.outcome_refused', attempt());
    } else if (outcome.ok) {
      events.emitFresh('step.completed', attempt());
      if (outcome.skip_children) {
        const decided: Record<string, unknown> = attempt();
        decided.skipped = outcome.skip_children;
        events.emitFresh('step.decided', decided);
      }
    } else {
      const willRetry = retries.has(outcome.step_id);
      events.emitFresh('step.failed', {
        ...attempt(),
        error: outcome.error,
        permanent: outcome.permanent ?? false,
        willRetry,
        retryAt: retries.get(outcome.step_id) ?? null,
      });
    }
  }
}

/** What every event of a step attempt carries (StepAttemptPayload and durationMs), as one literal. */
function attemptPayload(info: StepRunInfo, workerId: string, durationMs: number): Record<string, unknown> {
  return {
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
    durationMs,
  };
}
