/**
 * Starting a claimed step: finds its handler, builds its context (inputs, parents' results, checkpoints,
 * child tasks), runs it with `runStep` under the telemetry wrapper, and hands the outcome back. The step
 * is in `slots.running` from its start until its handler settles.
 */
import type { StepContextExtras, TemplateStep } from '../definitions/types.js';
import type { BackoffPolicy } from '../engine/backoff.js';
import type { ChildTasks } from '../engine/child-tasks.js';
import { type DispatchRow, type StepOutcome, saveCheckpoint } from '../engine/sql/dispatch-queries.js';
import { reportRateLimited } from '../engine/sql/rate-limit-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { StepAbortedError, TaskerError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import type { StepRunInfo } from '../model/step-run.js';
import { setUpRow } from './batch-steps.js';
import type { HandlerLookup } from './handler-table.js';
import { attemptPayload } from './outcome-events.js';
import { runStep } from './run-step.js';
import { createStepAbort, type StepAbort } from './step-abort.js';
import { countKeyed, type Execution, type PendingOutcome, type WorkerSlots } from './worker-slots.js';

/** Seams for telemetry: everything is optional. */
export interface WorkerInstrumentation {
  /** Wraps each handler call, e.g. in a tracing span or a logging context. */
  runStep?<T>(info: StepRunInfo, run: () => Promise<T>): Promise<T>;
  /** The step context's logger and custom-event publisher for one attempt. */
  stepContext?(info: StepRunInfo, step: TemplateStep): StepContextExtras;
}

export interface StepStarterDeps {
  readonly sql: SqlContext;
  readonly slots: WorkerSlots;
  readonly handlers: HandlerLookup;
  readonly backoff: BackoffPolicy;
  readonly log: Logger;
  readonly events: EventBus;
  readonly children: ChildTasks;
  readonly instrumentation?: WorkerInstrumentation;
  /**
   * The attempt has settled: its outcome to record, or null when there is none to record (abandoned, or
   * the runner itself failed).
   */
  readonly onSettled: (pending: PendingOutcome | null) => void;
}

/** Starts a claimed step; `controller` is the one it waited with (an abort may already be on it). */
export type StartStep = (row: DispatchRow, controller?: StepAbort) => void;

export function createStepStarter(deps: StepStarterDeps): StartStep {
  const { sql, slots, log, events } = deps;

  return function start(row: DispatchRow, controller = createStepAbort()): void {
    const stepId = row.step_id!;
    const previous = slots.running.get(stepId);
    if (previous) {
      // Claimed again while an old attempt still runs here (it was taken back): that one is void.
      previous.abandoned = true;
      previous.controller.abort(new StepAbortedError('lease_lost', 'the step was claimed again'));
    }
    const execution: Execution = {
      stepId,
      taskId: row.task_id!,
      attempt: row.attempt!,
      controller,
      abandoned: false,
    };
    slots.running.set(stepId, execution);
    const key = row.concurrency_key ?? null;
    countKeyed(slots, key, 1);
    const entry = deps.handlers(row.named_task_id!, row.step_name!);
    const attempt = row.attempt! - row.attempts_base!;
    const startedAt = performance.now();
    const info: StepRunInfo = {
      taskId: row.task_id!,
      stepId,
      stepName: row.step_name!,
      namespace: entry?.template.namespace ?? '',
      name: entry?.template.name ?? '',
      version: entry?.template.version ?? '',
      attempt,
      correlationId: row.correlation_id,
      traceparent: row.traceparent,
    };
    if (events.has('step.execution_requested')) {
      const requested = attemptPayload(info, slots.id);
      requested.readyAt = row.run_at;
      requested.taskCreatedAt = row.task_created_at;
      events.emitFresh('step.execution_requested', requested);
    }

    const done = (outcome: StepOutcome | null) => {
      if (slots.running.get(stepId) === execution) slots.running.delete(stepId);
      // Its key's next step in line on this worker may start now (admission.fill, after onSettled).
      countKeyed(slots, key, -1);
      const limits = entry?.step.rateLimits ?? [];
      if (outcome?.rate_limited && limits.length > 0) {
        // Its own statement, outside the round trip: a bucket row is never held while other locks wait.
        reportRateLimited(
          sql,
          limits.map((l) => l.name),
          outcome.rate_limited.retry_after_ms,
        ).catch((error) => log.warn({ err: error, stepId }, 'reporting a 429 to the rate limits failed'));
      }
      deps.onSettled(
        outcome && !execution.abandoned ? { outcome, info, durationMs: performance.now() - startedAt } : null,
      );
    };

    if (!entry) {
      done({
        step_id: stepId,
        attempt: row.attempt!,
        ok: false,
        permanent: true,
        error: {
          class: 'HandlerNotFoundError',
          message: `this worker has no handler for step "${row.step_name}" of template ${row.named_task_id}`,
        },
      });
      return;
    }
    const { template, step } = entry;
    const setup = setUpRow(step, entry.handler, entry.worker, row.inputs);
    let childCalls = 0;
    const run = () =>
      runStep({
        stepId,
        leaseAttempt: row.attempt!,
        attempt,
        handler: setup.handler,
        timeoutMs: row.timeout_ms,
        controller: execution.controller,
        backoff: deps.backoff,
        ...(step.kind === 'decision'
          ? { decisionChildren: step.childPositions.map((p) => template.steps[p]!.name) }
          : {}),
        ...(step.batch && !entry.worker && setup.handler === entry.handler ? { batch: step.batch } : {}),
        context: {
          task: {
            id: row.task_id!,
            namespace: template.namespace,
            name: template.name,
            version: template.version,
            correlationId: row.correlation_id,
          },
          step: { id: stepId, name: row.step_name!, attempt, retryLimit: row.retry_limit! },
          context: row.context ?? {},
          inputs: setup.inputs,
          lastCheckpoint: setup.lastCheckpoint,
          checkpoint: async (value) => {
            if (!entry.worker) {
              throw new TaskerError(
                'TASKER_OPERATION_NOT_ALLOWED',
                'checkpoint() is for the worker steps of a batch',
              );
            }
            const json = JSON.stringify(value === undefined ? null : value);
            if (!(await saveCheckpoint(sql, stepId, row.attempt!, json))) {
              log.warn({ stepId }, 'checkpoint not saved: the step is no longer leased to this worker');
            }
          },
          parents: row.parent_results ?? {},
          config: step.config,
          attempt,
          ...(deps.instrumentation?.stepContext?.(info, step) ?? { log, publish: unavailablePublish }),
          startChild: (request) =>
            deps.children.start(
              {
                taskId: row.task_id!,
                stepId,
                call: childCalls++,
                taskCreatedAt: row.task_created_at,
                inputs: row.inputs,
              },
              request,
            ),
        },
      });
    const wrap = deps.instrumentation?.runStep;
    (wrap ? wrap(info, run) : run()).then(done, (error) => {
      log.error({ err: error, stepId }, 'step runner failed');
      done(null);
    });
  };
}

/** Without telemetry instrumentation there is no custom-event delivery. */
function unavailablePublish(name: string): never {
  throw new Error(`cannot publish "${name}": this worker was started without the Tasker's instrumentation`);
}
