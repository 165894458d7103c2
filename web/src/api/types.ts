/**
 * The HTTP API's JSON shapes as the dashboard receives them (the REST routes in docs/dashboard.md):
 * the engine's Task/Step/Transition types with dates as ISO strings. The dashboard is a client of the
 * HTTP API only, so it keeps its own copy of these shapes instead of importing the engine's.
 */
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
  readonly requestedAt: string;
  /** When the task was asked to start; null: at once. */
  readonly runAt: string | null;
  readonly correlationId: string | null;
  /** A child task: the task and the step that started it (older servers do not send them). */
  readonly parentTaskId?: number | null;
  readonly parentStepId?: number | null;
  readonly stepCount: number;
  readonly unfinishedSteps: number;
  readonly failedSteps: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
}

export interface StepError {
  readonly class: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface Step {
  readonly id: number;
  readonly taskId: number;
  readonly name: string;
  readonly position: number;
  readonly state: StepState;
  readonly attempts: number;
  readonly totalAttempts: number;
  readonly retryLimit: number;
  readonly retryable: boolean;
  readonly timeoutMs: number | null;
  readonly skippable: boolean;
  readonly blocked: boolean;
  readonly parentIds: readonly number[];
  readonly childIds: readonly number[];
  readonly inputs: unknown;
  readonly results: unknown;
  readonly lastError: StepError | null;
  readonly runAt: string | null;
  readonly backoffRequestSeconds: number | null;
  readonly lastAttemptedAt: string | null;
  readonly completedAt: string | null;
  readonly workerId: string | null;
  /** The worker's name (host:pid unless given one); older servers do not send it. */
  readonly workerName?: string | null;
  /** The state as shown to people (`blocked` below a failed step), derived by the server. */
  readonly displayState?: StepState | 'blocked';
  /** The display state in words ("blocked by a failed step"), the same wording as the CLI. */
  readonly stateLabel?: string;
  /** What a waiting step waits for (null: it does not wait); older servers do not send it. */
  readonly waiting?: StepWait | null;
  /** A batch worker: the batch step that created it, and its place in the batch. */
  readonly batchParentId?: number | null;
  readonly batchIndex?: number | null;
  /** A compensation step created when the task failed. */
  readonly compensation?: 'undo' | 'on_failure' | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StepWait {
  readonly for: 'batch' | 'child' | 'signal' | 'sleep' | 'key' | 'rate_limit';
  readonly since: string | null;
  readonly until: string | null;
  readonly name: string | null;
  readonly taskId: number | null;
  readonly pending: number | null;
}

/** What `include=dependencies` may add; every part optional because servers differ in what they compute. */
export interface DependencyInfo {
  readonly criticalPath?: {
    readonly stepIds?: readonly number[];
    readonly steps?: readonly string[];
    readonly durationMs?: number;
    /** Steps on the path still running (counted until now) or not run yet (estimated). */
    readonly estimated?: readonly string[];
  };
  readonly [key: string]: unknown;
}

export interface TaskWithSteps extends Task {
  readonly steps: readonly Step[];
  readonly dependencies?: DependencyInfo;
}

export interface TransitionBase<S extends string> {
  readonly sortKey: number;
  readonly fromState: S | null;
  readonly toState: S;
  readonly metadata: Record<string, unknown> | null;
  readonly createdAt: string;
  readonly mostRecent: boolean;
}

export interface TaskTransition extends TransitionBase<TaskState> {
  readonly taskId: number;
}

export interface StepTransition extends TransitionBase<StepState> {
  readonly stepId: number;
  readonly taskId: number;
  readonly stepName: string;
  /** The worker an attempt started on, by name (older servers do not send it). */
  readonly workerName?: string | null;
}

export type AuditEntry = TaskTransition | StepTransition;

export function isStepTransition(entry: AuditEntry): entry is StepTransition {
  return typeof (entry as StepTransition).stepId === 'number';
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface TemplateSummary {
  readonly name: string;
  readonly version: string;
  readonly description?: string | null;
}

export interface NamespaceTemplates {
  readonly namespace: string;
  readonly templates: readonly TemplateSummary[];
}

export interface TemplateStepInfo {
  readonly name: string;
  readonly dependsOn: readonly string[];
  readonly retryable: boolean;
  readonly retryLimit: number;
  readonly timeoutMs: number | null;
  readonly skippable: boolean;
}

export interface TemplateDetail {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly description: string | null;
  readonly contextSchema: Record<string, unknown> | null;
  readonly steps: readonly TemplateStepInfo[];
  readonly graph: {
    readonly nodes: ReadonlyArray<{ readonly id: string; readonly level: number }>;
    readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string }>;
    readonly executionOrder: readonly (readonly string[])[];
  };
}

/** Unfinished steps by what they wait for (steps of finished tasks never count as waiting). */
export interface StepQueue {
  readonly ready?: number;
  readonly waitingForRetry?: number;
  readonly waitingForParents?: number;
  readonly running?: number;
  readonly blocked?: number;
}

export interface HealthStatus {
  readonly tasks?: { readonly byState?: Readonly<Record<string, number>> };
  readonly steps?: { readonly byState?: Readonly<Record<string, number>> };
  /** Older servers do not send it. */
  readonly queue?: StepQueue;
  readonly workers?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly pool?: unknown;
  readonly [key: string]: unknown;
}

/** RFC 9457 problem details. */
export interface ProblemDetails {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly errors?: ReadonlyArray<{ readonly path: string; readonly message: string }>;
}

/** A live update from the server's event stream. */
export type LiveEvent =
  | {
      readonly kind: 'task';
      readonly id: number;
      readonly state: TaskState;
      readonly namespace: string;
      readonly name: string;
      readonly version: string;
    }
  | {
      readonly kind: 'step';
      readonly id: number;
      readonly taskId: number;
      readonly name: string;
      readonly state: StepState;
    }
  /** The server may have missed notifications: reload whatever is shown. */
  | { readonly kind: 'resync' };

/** A failure group of the dead-letter view (GET /failures). */
export interface FailureGroup {
  fingerprint: string;
  category: string;
  steps: number;
  tasks: number;
  firstSeen: string;
  lastSeen: string;
  affected: Array<{ namespace: string; name: string; version: string; step: string }>;
  sample: { class: string; message: string; code?: string; stack?: string };
  sampleTaskId: number;
  sampleStepId: number;
  hint: string;
  hintRule: string;
}

/** A failed step of one group (GET /failures/:fingerprint). */
export interface FailedStep {
  stepId: number;
  taskId: number;
  namespace: string;
  name: string;
  version: string;
  step: string;
  attempts: number;
  failedAt: string;
  error: { class: string; message: string; code?: string };
}

/** A schedule (GET /schedules). */
export interface Schedule {
  name: string;
  task: string;
  cron: string | null;
  intervalMs: number | null;
  timezone: string;
  context: Record<string, unknown>;
  catchUp: 'skip' | 'once' | 'all';
  catchUpLimit: number;
  paused: boolean;
  nextFireAt: string | null;
  upcoming: string[];
  lastFiredAt: string | null;
  lastTaskId: number | null;
  fires: number;
  skippedTicks: number;
  source: 'api' | 'config';
}
