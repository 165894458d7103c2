/** The shapes the engine returns: tasks, steps and their audit trail. */

import type { StepState, TaskState } from './states.js';
import type { StepDisplayState } from './step-display.js';
import type { StepWait } from './step-wait.js';

export interface Task {
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly state: TaskState;
  readonly context: Record<string, unknown>;
  readonly initiator: string | null;
  readonly sourceSystem: string | null;
  readonly reason: string | null;
  readonly tags: readonly string[];
  readonly bypassSteps: readonly string[];
  readonly requestedAt: Date;
  /** When the task was asked to start (created with `runAt` or `delayMs`); null: at once. */
  readonly runAt: Date | null;
  /** Claim priority of its steps: N is worth N seconds of waiting (docs/flow-control.md). */
  readonly priority: number;
  /** Its task-scoped concurrency key (`group=value`); null: none. */
  readonly concurrencyKey: string | null;
  /** A child task: the task and step that started it (docs/workflows.md#child-workflows); null: none. */
  readonly parentTaskId: number | null;
  readonly parentStepId: number | null;
  readonly identityKey: string | null;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  readonly stepCount: number;
  /** Steps that can still run or are running. */
  readonly unfinishedSteps: number;
  /** Steps that failed for good. */
  readonly failedSteps: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
  /** When retention moved it into the archive (read-only from then on); null: a live task. */
  readonly archivedAt: Date | null;
}

export interface StepError {
  readonly class: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly context?: Readonly<Record<string, unknown>>;
  /** What kind of failure: timeout, connection_refused, http_4xx, handler_bug, ... (docs/diagnostics.md). */
  readonly category?: string;
  /** Groups occurrences of the same problem (docs/diagnostics.md). */
  readonly fingerprint?: string;
}

export interface Step {
  readonly id: number;
  readonly taskId: number;
  readonly name: string;
  readonly position: number;
  readonly state: StepState;
  /** Attempts counted against the retry limit (since the last task retry). */
  readonly attempts: number;
  /** Every attempt ever made. */
  readonly totalAttempts: number;
  readonly retryLimit: number;
  readonly retryable: boolean;
  readonly timeoutMs: number | null;
  readonly skippable: boolean;
  /** Pending below a step that failed for good: cannot run unless that step is retried or resolved. */
  readonly blocked: boolean;
  readonly parentIds: readonly number[];
  readonly childIds: readonly number[];
  readonly inputs: unknown;
  readonly results: unknown;
  readonly lastError: StepError | null;
  /** When the step can next be claimed (set once its parents are done). */
  readonly runAt: Date | null;
  /** The concurrency key whose slot this ready step waits for (docs/flow-control.md); null: none. */
  readonly waitingForKey: string | null;
  /** When its current wait for a concurrency slot or rate-limit tokens began; null: not waiting. */
  readonly throttledAt: Date | null;
  /** A batch worker (docs/workflows.md#batches): the batch step that created it; null for other steps. */
  readonly batchParentId: number | null;
  /** A batch worker: its item's place in the batch (from 0). */
  readonly batchIndex: number | null;
  /**
   * A compensation step created when the task failed (docs/workflows.md#compensation): `undo` (its
   * inputs name the step it undoes) or `on_failure`; null for every other step.
   */
  readonly compensation: 'undo' | 'on_failure' | null;
  readonly backoffRequestSeconds: number | null;
  readonly lastAttemptedAt: Date | null;
  readonly completedAt: Date | null;
  /** The worker holding (or that last held) the step's lease. */
  readonly workerId: string | null;
  /** That worker's name (`host:pid` unless it was given one), as in the workers list and logs. */
  readonly workerName: string | null;
  /** The state as shown to people: `blocked` for a pending step below a step that failed for good. */
  readonly displayState: StepDisplayState;
  /**
   * The display state in words, e.g. "blocked by a failed step", or what it waits for, e.g.
   * `waiting for signal "approved"` (the same on every surface).
   */
  readonly stateLabel: string;
  /** What a waiting step waits for (docs/workflows.md, docs/flow-control.md); null: it does not wait. */
  readonly waiting: StepWait | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface TaskWithSteps extends Task {
  readonly steps: readonly Step[];
}

export interface Transition<S extends string = string> {
  readonly sortKey: number;
  readonly fromState: S | null;
  readonly toState: S;
  readonly metadata: Record<string, unknown> | null;
  readonly createdAt: Date;
  readonly mostRecent: boolean;
}

export interface TaskTransition extends Transition<TaskState> {
  readonly taskId: number;
}

export interface StepTransition extends Transition<StepState> {
  readonly stepId: number;
  readonly taskId: number;
  readonly stepName: string;
  /** The name of the worker an attempt started on (`metadata.worker_id`), else null. */
  readonly workerName: string | null;
}

/** What createTask returns. */
export interface CreatedTask {
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly state: TaskState;
  /** False when the request was a duplicate (same idempotency key or identity hash): this is the existing task. */
  readonly created: boolean;
}
