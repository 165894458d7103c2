/**
 * The task and step state machines (after the original's section 2), as data: the SQL schema carries
 * the same tables as CHECK constraints on the transition tables, and a test holds the two in step.
 *
 * Step states add two to the original's six, because dispatch needs them:
 * - `waiting_for_retry`: an attempt failed and another is due at the step's run_at (the original
 *   moved failed steps back to `pending`, and then never picked them up);
 * - `skipped`: the step was bypassed when the task was created; it counts as done for its children.
 * A step in `error` has failed for good (retries exhausted or a permanent error).
 */
import { TaskerError } from '../errors.js';

export const TASK_STATES = [
  'pending',
  'in_progress',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const STEP_STATES = [
  'pending',
  'in_progress',
  'waiting_for_retry',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
  'skipped',
] as const;
export type StepState = (typeof STEP_STATES)[number];

/** Allowed transitions, each with the event name it publishes. */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, Readonly<Partial<Record<TaskState, string>>>>> = {
  pending: { in_progress: 'task.start_requested', cancelled: 'task.cancelled', error: 'task.failed' },
  in_progress: {
    complete: 'task.completed',
    error: 'task.failed',
    cancelled: 'task.cancelled',
    pending: 'task.reenqueued',
  },
  error: { pending: 'task.retry_requested', resolved_manually: 'task.resolved_manually' },
  // A finished run is history: nothing turns a complete task into a cancelled one (migration 11).
  complete: {},
  resolved_manually: {},
  cancelled: {},
};

export const STEP_TRANSITIONS: Readonly<Record<StepState, Readonly<Partial<Record<StepState, string>>>>> = {
  pending: {
    // Waiting for a concurrency slot or rate-limit tokens (migration 19): recorded once per wait.
    pending: 'step.throttled',
    in_progress: 'step.execution_requested',
    error: 'step.failed',
    cancelled: 'step.cancelled',
    resolved_manually: 'step.resolved_manually',
    skipped: 'step.skipped',
  },
  in_progress: {
    complete: 'step.completed',
    error: 'step.failed',
    cancelled: 'step.cancelled',
    waiting_for_retry: 'step.retry_scheduled',
  },
  waiting_for_retry: {
    waiting_for_retry: 'step.throttled',
    in_progress: 'step.execution_requested',
    cancelled: 'step.cancelled',
    resolved_manually: 'step.resolved_manually',
  },
  error: { pending: 'step.retry_requested', resolved_manually: 'step.resolved_manually' },
  complete: {},
  cancelled: {},
  resolved_manually: {},
  skipped: {},
};

/** Step states that count as done for a step's children and for finishing its task. */
export const STEP_DONE_STATES: readonly StepState[] = ['complete', 'resolved_manually', 'skipped'];
/** Task states after which nothing runs. */
export const TASK_FINAL_STATES: readonly TaskState[] = [
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
];

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && (TASK_STATES as readonly string[]).includes(value);
}

export function isStepState(value: unknown): value is StepState {
  return typeof value === 'string' && (STEP_STATES as readonly string[]).includes(value);
}

export function canTransitionTask(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from][to] !== undefined;
}

export function canTransitionStep(from: StepState, to: StepState): boolean {
  return STEP_TRANSITIONS[from][to] !== undefined;
}

/** Throws TASKER_ILLEGAL_TRANSITION unless `from -> to` is allowed (only a step's throttled record goes from a state to itself). */
export function assertTaskTransition(taskId: number, from: TaskState, to: TaskState): void {
  if (!canTransitionTask(from, to)) {
    throw new TaskerError('TASKER_ILLEGAL_TRANSITION', `task ${taskId} cannot go from ${from} to ${to}`);
  }
}

export function assertStepTransition(stepId: number, from: StepState, to: StepState): void {
  if (!canTransitionStep(from, to)) {
    throw new TaskerError('TASKER_ILLEGAL_TRANSITION', `step ${stepId} cannot go from ${from} to ${to}`);
  }
}

/** Every allowed pair, flattened (used to build and to check the SQL constraints). */
export function transitionPairs(
  machine: Readonly<Record<string, Readonly<Partial<Record<string, string>>>>>,
): Array<[string, string]> {
  return Object.entries(machine).flatMap(([from, targets]) =>
    Object.keys(targets).map((to): [string, string] => [from, to]),
  );
}
