/**
 * The HTTP API's JSON shapes as the dashboard receives them (the REST routes in docs/dashboard.md). The
 * dashboard is a client of the HTTP API only: Task, Step, failures, schedules and the create-task body are
 * the types generated from the server's OpenAPI document (src/client/openapi.generated.ts, the same as
 * tasker-ts/client's); the other shapes are still written here.
 */
import type { components, paths } from '../../../src/client/openapi.generated.js';

/** The JSON body of a generated response or request type. */
type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : never;
/** The element type of a list response ({ items: [...] }). */
type ItemOf<T> = T extends { items: ReadonlyArray<infer I> } ? I : never;

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

/**
 * A task as the API serves it: the server's own type, generated from its OpenAPI document
 * (src/client/openapi.generated.ts); every field is present in what GET /tasks and /tasks/:id return.
 */
export type Task = Required<components['schemas']['Task']>;

export interface StepError {
  readonly class: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly context?: Readonly<Record<string, unknown>>;
}

/** A step as the API serves it (generated from the server's OpenAPI document, as Task). */
export type Step = Required<components['schemas']['Step']>;

/** What a waiting step waits for. */
export type StepWait = NonNullable<Step['waiting']>;

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

/** A row of the task's audit trail (generated, as Task). */
export type TaskTransition = Required<components['schemas']['TaskTransition']>;
/** A row of a step's audit trail (generated, as Task). */
export type StepTransition = Required<components['schemas']['StepTransition']>;
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
export type FailureGroup = ItemOf<JsonOf<paths['/tasker/failures']['get']['responses'][200]>>;

/** A failed step of one group (GET /failures/:fingerprint). */
export type FailedStep = ItemOf<JsonOf<paths['/tasker/failures/{fingerprint}']['get']['responses'][200]>>;

/** A schedule (GET /schedules). */
export type Schedule = ItemOf<JsonOf<paths['/tasker/schedules']['get']['responses'][200]>>;
