/**
 * Runs one attempt of a step: calls its handler with the context, parent results, config and an
 * AbortSignal, enforces the timeout, and turns what happened into an outcome for the database.
 * A handler that ignores its signal is not waited for once the signal fires.
 */
import type { StepContext, StepHandler } from '../definitions/types.js';
import { diagnose } from '../diagnostics/diagnose.js';
import type { BackoffPolicy } from '../engine/backoff.js';
import { retryDelayMs } from '../engine/backoff.js';
import { ChildPending } from '../engine/child-tasks.js';
import type { SerializedError, StepOutcome } from '../engine/sql/dispatch-queries.js';
import {
  PermanentError,
  RateLimitedError,
  RetryableError,
  StepAbortedError,
  StepTimeoutError,
} from '../errors.js';
import { checkDecision } from '../model/decision.js';
import { itemsOf } from './batch-steps.js';
import type { StepAbort } from './step-abort.js';

const MAX_STACK = 8000;

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) {
    return { class: 'NonError', message: typeof error === 'string' ? error : safeJson(error) };
  }
  const ownCode = (error as Error & { code?: unknown }).code;
  const code =
    error instanceof PermanentError ? error.code : typeof ownCode === 'string' ? ownCode : undefined;
  const context =
    error instanceof PermanentError || error instanceof RetryableError ? error.context : undefined;
  return {
    class: error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error',
    message: error.message,
    ...(error.stack ? { stack: error.stack.slice(0, MAX_STACK) } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(context !== undefined ? { context: JSON.parse(safeJson(context)) } : {}),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}

export interface StepRun {
  readonly stepId: number;
  /** The attempt the step was claimed with (all attempts ever; the lease's fence). */
  readonly leaseAttempt: number;
  /** The attempt counted against the retry limit (1-based). */
  readonly attempt: number;
  readonly handler: StepHandler<never>;
  readonly context: Omit<StepContext, 'signal'>;
  readonly timeoutMs: number | null;
  readonly controller: StepAbort;
  readonly backoff: BackoffPolicy;
  /** A decision step: the names of the steps that depend on it (its answer must name some of them). */
  readonly decisionChildren?: readonly string[];
  /** A batch step's planning run: its result names the items its workers run. */
  readonly batch?: {
    readonly maxItems: number;
    readonly retryLimit: number;
    readonly retryable: boolean;
    readonly timeoutMs: number | null;
  };
}

/**
 * The outcome of one attempt, or null when the attempt was given up without a verdict (the worker is
 * stopping or lost the lease: the step is released or already taken back).
 */
export async function runStep(run: StepRun): Promise<StepOutcome | null> {
  const { controller } = run;
  let timer: NodeJS.Timeout | undefined;
  if (run.timeoutMs !== null) {
    timer = setTimeout(() => controller.abort(new StepTimeoutError(run.timeoutMs!)), run.timeoutMs);
  }
  const aborted = new Promise<never>((_, reject) => controller.onAbort(reject));
  aborted.catch(() => {}); // observed below through the race

  try {
    // Aborted before it started (its task was cancelled while it waited for a slot): the handler never runs.
    if (controller.aborted) return failure(run, controller.reason);
    // ctx.signal is made when the handler reads it (see step-abort.ts).
    const context = Object.defineProperty({ ...run.context }, 'signal', {
      get: () => controller.signal,
      enumerable: true,
    }) as StepContext;
    const result = await Promise.race([
      Promise.resolve().then(() => (run.handler as StepHandler)(context)),
      aborted,
    ]);
    if (controller.aborted) return failure(run, controller.reason);
    let results: unknown;
    try {
      results = result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      return {
        step_id: run.stepId,
        attempt: run.leaseAttempt,
        ok: false,
        permanent: true,
        error: diagnose({
          class: 'ResultsNotSerializableError',
          message: `the handler's result cannot be stored as JSON: ${(error as Error).message}`,
        }),
      };
    }
    if (run.batch) {
      const planned = itemsOf(run.context.step.name, run.batch.maxItems, results);
      if (!planned.ok) return failure(run, new PermanentError(planned.message, { code: 'INVALID_BATCH' }));
      // No items: nothing to wait for; the batch's results are the empty list.
      if (planned.items.length === 0)
        return { step_id: run.stepId, attempt: run.leaseAttempt, ok: true, results: [] };
      return {
        step_id: run.stepId,
        attempt: run.leaseAttempt,
        ok: true,
        await_batch: {
          items: planned.items,
          retryable: run.batch.retryable,
          retry_limit: run.batch.retryLimit,
          timeout_ms: run.batch.timeoutMs,
        },
      };
    }
    if (run.decisionChildren) {
      const decision = checkDecision(run.context.step.name, run.decisionChildren, results);
      if (!decision.ok)
        return failure(run, new PermanentError(decision.message, { code: 'INVALID_DECISION' }));
      return {
        step_id: run.stepId,
        attempt: run.leaseAttempt,
        ok: true,
        results,
        skip_children: decision.skip,
      };
    }
    return { step_id: run.stepId, attempt: run.leaseAttempt, ok: true, results };
  } catch (error) {
    // When the signal fired, its reason says why, whatever the handler threw on its way out.
    return failure(run, controller.aborted ? controller.reason : error);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function failure(run: StepRun, error: unknown): StepOutcome | null {
  if (error instanceof StepAbortedError && error.reason !== 'task_cancelled') return null;
  // Not a failure: the step started a child task and waits for it (migration 22).
  if (error instanceof ChildPending) {
    return {
      step_id: run.stepId,
      attempt: run.leaseAttempt,
      ok: true,
      await_child: error.creation
        ? { call: error.creation.call, named_task_id: error.creation.namedTaskId, task: error.creation.task }
        : error.childTaskId!,
    };
  }
  const permanent = error instanceof PermanentError || error instanceof StepAbortedError;
  const retryAfterMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
  return {
    step_id: run.stepId,
    attempt: run.leaseAttempt,
    ok: false,
    permanent,
    error: diagnose(serializeError(error)),
    retry_delay_ms: permanent ? 0 : retryDelayMs(run.attempt, { retryAfterMs, policy: run.backoff }),
    ...(error instanceof RateLimitedError ? { rate_limited: { retry_after_ms: retryAfterMs ?? null } } : {}),
  };
}
