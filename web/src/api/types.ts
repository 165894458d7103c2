/**
 * The HTTP API's JSON shapes as the dashboard receives them (the REST routes in docs/dashboard.md). The
 * dashboard is a client of the HTTP API only: its shapes are the types generated from the server's
 * OpenAPI document (src/client/openapi.generated.ts, the same as tasker-ts/client's), made exact where the
 * routes it reads always send every field (`Required`). Written here: the state lists, the page wrapper
 * and the live events (server-sent events are not in the OpenAPI document).
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

export type StepError = NonNullable<Step['lastError']>;

/** A step as the API serves it (generated from the server's OpenAPI document, as Task). */
export type Step = Required<components['schemas']['Step']>;

/** What a waiting step waits for. */
export type StepWait = NonNullable<Step['waiting']>;

/** What `include=dependencies` may add; every part optional because servers differ in what they compute. */
export type DependencyInfo = NonNullable<components['schemas']['TaskWithSteps']['dependencies']>;

/** A task with its steps (GET /tasks/:id); `dependencies` only with include=dependencies. */
export type TaskWithSteps = Task & {
  readonly steps: readonly Step[];
  readonly dependencies?: DependencyInfo;
};

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

export type TemplateSummary = NamespaceTemplates['templates'][number];

export type NamespaceTemplates = JsonOf<
  paths['/tasker/handlers']['get']['responses'][200]
>['namespaces'][number];

export type TemplateStepInfo = TemplateDetail['steps'][number];

export type TemplateDetail = JsonOf<paths['/tasker/handlers/{namespace}/{name}']['get']['responses'][200]>;

/** Unfinished steps by what they wait for (steps of finished tasks never count as waiting). */
export type StepQueue = NonNullable<HealthStatus['queue']>;

export type HealthStatus = JsonOf<paths['/tasker/health/status']['get']['responses'][200]>;

/** RFC 9457 problem details. */
export type ProblemDetails = Partial<components['schemas']['Problem']>;

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
