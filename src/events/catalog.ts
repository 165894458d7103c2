/**
 * The catalog of system events: every name the engine emits, with its payload. Events are emitted only
 * after the change they describe is committed, and delivered asynchronously (see event-bus.ts). Every
 * payload also carries `timestamp` (ISO 8601, when the event was emitted).
 *
 * Of the original's catalog we keep the events that describe something our engine really does; its
 * orchestration-internal events (workflow.viable_steps_discovered, task_reenqueue_*, ...) have no
 * counterpart here because steps are dispatched by SQL, not by an orchestrator loop.
 */
import type { SerializedError } from '../engine/sql/dispatch-queries.js';

/** Identifies a task's template. */
export interface TemplateLabels {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
}

export interface TaskEventBase extends TemplateLabels {
  readonly taskId: number;
}

/** A step attempt, as the worker that ran it knows it. */
export interface StepAttemptPayload extends TaskEventBase {
  readonly stepId: number;
  readonly stepName: string;
  /** Counted against the retry limit, from 1. */
  readonly attempt: number;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  readonly workerId: string;
}

export interface TaskCreatedPayload extends TaskEventBase {
  readonly correlationId: string | null;
}

export interface TaskFinishedPayload extends TaskEventBase {
  /** 'complete' or 'error'. */
  readonly state: string;
  readonly startedAt: Date | null;
  readonly createdAt: Date | null;
}

export interface TaskOperationPayload {
  readonly taskId: number;
  /** The task's state after the operation. */
  readonly state: string;
  readonly reason: string | null;
}

export interface StepExecutionRequestedPayload extends StepAttemptPayload {
  /** When the step became ready (or its retry time came). */
  readonly readyAt: Date | null;
  readonly taskCreatedAt: Date | null;
}

export interface StepCompletedPayload extends StepAttemptPayload {
  /** How long the handler ran, in milliseconds. */
  readonly durationMs: number;
}

export interface StepFailedPayload extends StepCompletedPayload {
  readonly error: SerializedError | undefined;
  /** The handler asked for no retry (PermanentError, a non-retryable step, a cancelled task). */
  readonly permanent: boolean;
  /** The step will run again (at `retryAt`). */
  readonly willRetry: boolean;
  readonly retryAt: Date | null;
}

/** A step's attempt started a child task or a batch and the step now waits for it, holding no slot. */
export interface StepWaitingPayload extends StepAttemptPayload {
  /** What it waits for: its child task, or its batch's worker steps. */
  readonly waitingFor: 'child' | 'batch';
  /**
   * The child task, when it existed before the round trip; null when the round trip creates it (the
   * step's `waiting.taskId` and `inputs.child_task_id` name it).
   */
  readonly childTaskId: number | null;
  /** How many worker steps the batch created (waitingFor batch). */
  readonly workers: number | null;
}

/** A decision step completed: the steps below it it chose, and those it skipped (with what only they lead to). */
export interface StepDecidedPayload extends StepCompletedPayload {
  readonly skipped: readonly string[];
}

export interface StepResolvedPayload {
  readonly stepId: number;
  /** The task's state after the step was resolved. */
  readonly state: string;
  readonly reason: string | null;
}

/** Finished tasks removed by retention (the workers' job) or by `prune` (by hand). */
export interface RetentionPrunedPayload {
  /** 'retention': the periodic job of the configured policy; 'manual': tasker.prune / tasker prune. */
  readonly trigger: 'retention' | 'manual';
  /** 'archive': moved into the archive (retention.archive set, or prune with archive); 'delete': removed. */
  readonly mode: 'delete' | 'archive';
  readonly tasks: number;
  readonly steps: number;
  /** Audit rows (task and step transitions) removed with them. */
  readonly transitions: number;
  readonly batches: number;
  readonly durationMs: number;
}

/** The retention job created archive partitions ahead or dropped old ones (docs/operations.md#archiving). */
export interface RetentionArchiveMaintainedPayload {
  /** Partition names (archived_tasks_YYYY_MM). */
  readonly created: readonly string[];
  readonly dropped: readonly string[];
}

/** A schedule's tick (or a run-now) created its task. */
export interface ScheduleFiredPayload {
  readonly schedule: string;
  /** The tick it fired for (for a run-now: when it was asked). */
  readonly tickAt: Date;
  readonly taskId: number;
  /** How long after its tick it fired, in milliseconds. */
  readonly lateMs: number;
  /** Run now (tasker schedule run), not a tick. */
  readonly manual: boolean;
}

/** Ticks of a schedule that were skipped (its catch-up policy, after a pause or downtime). */
export interface ScheduleSkippedPayload {
  readonly schedule: string;
  readonly count: number;
}

/** What a handler's `ctx.publish(name, payload)` becomes. */
export interface StepsReclaimedPayload {
  /** The worker whose periodic maintenance took the steps back (not the dead one). */
  readonly workerId: string;
  /** Steps taken back from workers whose heartbeat was older than their lease. */
  readonly count: number;
}

export interface CustomEventPayload extends TemplateLabels {
  readonly taskId: number;
  readonly stepId: number;
  readonly stepName: string;
  readonly attempt: number;
  readonly correlationId: string | null;
  /** What the handler published. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Every system event by name. */
export interface SystemEvents {
  /** A task was created (not emitted for a deduplicated request that returned an existing task). */
  'task.created': TaskCreatedPayload;
  /** Every step of a task is done: the task is complete (by a worker, or by `resolveStep`). */
  'task.completed': TaskFinishedPayload;
  /** A task finished with a step that failed for good (state 'error'). */
  'task.failed': TaskFinishedPayload;
  /** `resolveStep` resolved the last failed step of a task in error: the task is resolved by hand. */
  'task.resolved_manually': TaskFinishedPayload;
  /** `cancelTask` succeeded (idempotent: also when the task was already cancelled). */
  'task.cancelled': TaskOperationPayload & TemplateLabels;
  /** `retryTask` put a failed task's failed steps back in the queue. */
  'task.retry_requested': TaskOperationPayload;
  /** A worker claimed a step and is about to run its handler. */
  'step.execution_requested': StepExecutionRequestedPayload;
  /** A step's handler succeeded and its results are recorded. */
  'step.completed': StepCompletedPayload;
  /** A step started a child task or a batch and waits for it (docs/workflows.md); not an outcome. */
  'step.waiting': StepWaitingPayload;
  /** A decision step completed (after its step.completed): which of its children it skipped. */
  'step.decided': StepDecidedPayload;
  /** A step's attempt failed (recorded); `willRetry` says whether it runs again. */
  'step.failed': StepFailedPayload;
  /**
   * A worker's outcome was not recorded because it no longer held the step's lease (the step was taken
   * back after a missed heartbeat, or the task was cancelled): another attempt owns the step.
   */
  'step.outcome_refused': StepCompletedPayload;
  /** `resolveStep` marked a step resolved by hand. */
  'step.resolved_manually': StepResolvedPayload;
  /**
   * Steps of dead workers (heartbeat older than their lease) were taken back: each counts a failed
   * attempt and runs again. Emitted by the worker that took them back.
   */
  'worker.steps_reclaimed': StepsReclaimedPayload;
  /** Finished tasks older than a retention age were removed, with their steps and audit trail. */
  'retention.pruned': RetentionPrunedPayload;
  /** The archive's partitions were created ahead or dropped past retention.archive.keepMonths. */
  'retention.archive_maintained': RetentionArchiveMaintainedPayload;
  /** A schedule created its task for a tick (or by run-now). */
  'schedule.fired': ScheduleFiredPayload;
  /** A schedule skipped ticks (catch-up policy). */
  'schedule.skipped': ScheduleSkippedPayload;
}

export type SystemEventName = keyof SystemEvents;

/** Names of the system events, for validation and docs. */
export const SYSTEM_EVENT_NAMES: readonly SystemEventName[] = Object.freeze([
  'task.created',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.resolved_manually',
  'task.retry_requested',
  'step.execution_requested',
  'step.completed',
  'step.waiting',
  'step.decided',
  'step.failed',
  'step.outcome_refused',
  'step.resolved_manually',
  'worker.steps_reclaimed',
  'retention.pruned',
  'retention.archive_maintained',
  'schedule.fired',
  'schedule.skipped',
] satisfies SystemEventName[]);

/** Namespaces custom events may not use. */
export const RESERVED_EVENT_NAMESPACES: readonly string[] = Object.freeze([
  'task',
  'step',
  'workflow',
  'observability',
  'worker',
  'retention',
  'schedule',
]);

/** A delivered event: the payload plus when it was emitted. */
export type Delivered<P> = P & { readonly timestamp: string };
