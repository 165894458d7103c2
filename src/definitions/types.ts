/** The types a workflow author writes against: definitions, handlers and what a handler receives. */

import type {
  RateLimitUse,
  StepConcurrencyDefinition,
  TaskConcurrencyDefinition,
  TemplateConcurrency,
  TemplateRateLimit,
} from '../model/flow-control.js';
import type { IdentityStrategy, IdentityStrategyName } from '../model/identity-strategies.js';
import type { Logger } from '../model/logger.js';
import type {
  SignalWaitDefinition,
  SleepDefinition,
  StepKind,
  SubtaskDefinition,
  TemplateWait,
} from '../model/step-kinds.js';

/** A JSON Schema object (draft-07 keywords; validated with ajv when the template is registered). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * A zod 4 schema, described by the part of it Tasker reads (so a project's own copy of zod fits): its
 * output type. `defineTask` turns it into JSON Schema for the engine's validator.
 */
export interface ZodSchemaOf<TOutput = unknown> {
  readonly _zod: { readonly output: TOutput; readonly input: unknown };
}

/** What a step handler receives. `TParents` is the results of the steps it depends on (typed by `defineTask`'s step builder). */
export interface StepContext<
  TContext = Record<string, unknown>,
  TParents extends object = Readonly<Record<string, unknown>>,
> {
  /** The task this step belongs to. */
  readonly task: {
    readonly id: number;
    readonly namespace: string;
    readonly name: string;
    readonly version: string;
    readonly correlationId: string | null;
  };
  /** This step. `attempt` counts from 1 and includes attempts before a task retry. */
  readonly step: {
    readonly id: number;
    readonly name: string;
    readonly attempt: number;
    readonly retryLimit: number;
  };
  /** The task's context, validated against the template's schema (defaults filled in). */
  readonly context: TContext;
  /** Step-specific inputs (null unless set through the API). */
  readonly inputs: unknown;
  /** Results of the steps this one depends on, by step name (a skipped parent has none). */
  readonly parents: TParents;
  /** The step's handler configuration from its definition. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Same as `step.attempt`. */
  readonly attempt: number;
  /** Aborted when the step times out, its task is cancelled, its lease is lost or its worker stops. */
  readonly signal: AbortSignal;
  /**
   * The Tasker's logger bound to this attempt: every line (and every line of its `child()` loggers) carries
   * the correlation id, task id, step id and attempt (unless `telemetry.log.context` is false).
   */
  readonly log: Logger;
  /**
   * Publishes a custom event the step declares in `customEvents`; delivered to `tasker.events`
   * subscribers once this attempt's outcome is recorded (see docs/events.md).
   */
  publish(name: string, payload?: Record<string, unknown>): void;
  /**
   * Starts a child task and waits for it (docs/workflows.md#child-workflows): the step stops here without
   * holding a worker slot or spending an attempt, and runs again when the child finishes; this call then
   * resolves to the child's results (the results of its last steps, by name), or throws when the child
   * did not complete. Code before it runs again too: keep it idempotent.
   */
  startChild(request: ChildTaskRequest): Promise<ChildTaskResult>;
  /**
   * A batch worker: saves progress durably (docs/workflows.md#batches); after a crash or a retry the next
   * attempt finds it in `lastCheckpoint`. Other steps: refused.
   */
  checkpoint(value: unknown): Promise<void>;
  /** A batch worker: the last value it saved with `checkpoint` (undefined: none yet). */
  readonly lastCheckpoint: unknown;
}

/** What `ctx.startChild` creates. */
export interface ChildTaskRequest {
  readonly namespace?: string;
  readonly name: string;
  readonly version?: string;
  readonly context?: Record<string, unknown>;
  readonly tags?: readonly string[];
}

/** A finished child: its id and the results of its last steps (those no other step depends on), by name. */
export interface ChildTaskResult {
  readonly taskId: number;
  readonly results: Readonly<Record<string, unknown>>;
}

/** The parts of a step context the Tasker's telemetry provides. */
export type StepContextExtras = Pick<StepContext, 'log' | 'publish'>;

/**
 * A step handler: returns the step's results (any JSON value; `undefined` is stored as null) or throws.
 * Throw `RetryableError` to ask for a retry (optionally after a delay), `PermanentError` to fail the step
 * at once; any other error is retried until the step's retry limit.
 */
export type StepHandler<TContext = Record<string, unknown>> = (context: StepContext<TContext>) => unknown;

/** A step handler written as a class, as the original Tasker's are: `process` runs the step. */
export type StepHandlerClass = new () => { process(context: StepContext<never>): unknown };

export interface CustomEventDefinition {
  readonly name: string;
  readonly description?: string;
}

export interface StepDefinition<TContext = Record<string, unknown>> {
  /** Unique within the task; letters, digits, `_`, `-` and `.`. */
  readonly name: string;
  /**
   * The function that runs the step, or the name of a handler registered with `tasker.registerHandler`.
   * Not given for the waits (kind `sleep` or `signal`).
   */
  readonly handler?: StepHandler<TContext> | string;
  /** Names of the steps that must finish first. */
  readonly dependsOn?: readonly string[];
  readonly description?: string;
  /** The external system the step talks to (informational; defaults to the task's). */
  readonly dependentSystem?: string;
  /** When false, the first failure fails the step. @defaultValue true */
  readonly retryable?: boolean;
  /** Attempts in all, the first included. @defaultValue 3 */
  readonly retryLimit?: number;
  /** Abort the handler's signal and count a retryable failure after this long. @defaultValue no timeout */
  readonly timeoutMs?: number;
  /** Whether a task may be created with this step bypassed. @defaultValue false */
  readonly skippable?: boolean;
  /** Passed to the handler as `config`. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Events the handler may publish (see docs/events.md). */
  readonly customEvents?: readonly CustomEventDefinition[];
  /**
   * At most `limit` attempts of this step run at once per value of the context path `key`, across all
   * workers (docs/flow-control.md). Overrides a step-scoped `concurrency` of the task.
   */
  readonly concurrency?: StepConcurrencyDefinition;
  /** The rate limits each attempt consumes: names (1 unit) or `{ name, units }` (docs/flow-control.md). */
  readonly rateLimits?: readonly RateLimitUse[];
  /**
   * `decision`: the handler returns `{ activate: [...] }`, the names of the steps that depend on it which
   * are to run; the others are skipped, with what only they lead to. `sleep` / `signal`: a durable wait
   * (below), with no handler (docs/workflows.md). `compensation`: runs only when the task fails for good,
   * as a step's `undo` or the task's `onFailure`; it depends on nothing. @defaultValue 'step'
   */
  readonly kind?: StepKind;
  /** kind `sleep`: `{ ms }` after the step is ready, or `{ until }`: a context path holding an ISO time. */
  readonly sleep?: SleepDefinition;
  /** kind `signal`: the signal it waits for, and an optional timeout. */
  readonly signal?: SignalWaitDefinition;
  /** kind `subtask`: the child task to start and wait for (docs/workflows.md#child-workflows). */
  readonly subtask?: SubtaskDefinition;
  /**
   * kind `batch`: its handler returns `{ items: [...] }` (or `{ batches: [...] }`); each item runs as a
   * worker step with this handler, and the batch step completes with their results in order
   * (docs/workflows.md#batches).
   */
  readonly batch?: BatchDefinition<TContext>;
  /**
   * A step of kind `compensation` that undoes this one: when the task fails for good after this step
   * completed, it runs with the failure and the completed steps' results (docs/workflows.md#compensation).
   */
  readonly undo?: string;
}

/**
 * The inputs of a compensation step (`inputs` in its context): what failed, what had completed, and the
 * step it undoes (null for the failure handler).
 */
export interface CompensationInputs {
  readonly failedSteps: ReadonlyArray<{ readonly name: string; readonly error: unknown }>;
  readonly results: Readonly<Record<string, unknown>>;
  readonly undoing: string | null;
}

export interface BatchDefinition<TContext = Record<string, unknown>> {
  /** Runs one item: `inputs` is the item; `checkpoint(value)` saves progress, `lastCheckpoint` reads it. */
  readonly handler: StepHandler<TContext> | string;
  /** Most items. @defaultValue 10000 */
  readonly maxItems?: number;
  /** Attempts of each worker in all. @defaultValue 3 */
  readonly retryLimit?: number;
  readonly retryable?: boolean;
  readonly timeoutMs?: number;
}

export interface TaskDefinition<TContext = Record<string, unknown>> {
  /** @defaultValue 'default' */
  readonly namespace?: string;
  readonly name: string;
  /** A semantic version. @defaultValue '0.1.0' */
  readonly version?: string;
  readonly description?: string;
  /**
   * The schema the task context must match (defaults in it are filled in): JSON Schema, or a zod 4 schema
   * (converted to JSON Schema; handlers then see the context as its output type).
   */
  readonly contextSchema?: JsonSchema | ZodSchemaOf<TContext>;
  /** Default dependent system of the steps. @defaultValue 'default' */
  readonly dependentSystem?: string;
  /**
   * What makes two requests for this task the same (see docs/api.md#duplicate-requests): always_unique,
   * caller_provided, strict or hash. @defaultValue the engine's `identity.strategy`
   */
  readonly identityStrategy?: IdentityStrategyName;
  /** Claim priority of the task's steps: N is worth N seconds of waiting. @defaultValue 0 */
  readonly priority?: number;
  /**
   * At most `limit` tasks (scope `task`, the default) or steps (scope `step`) with one value of the
   * context path `key` run at once, across all workers (docs/flow-control.md).
   */
  readonly concurrency?: TaskConcurrencyDefinition;
  /**
   * A step of kind `compensation` that runs when a task fails for good, beside the undo steps
   * (docs/workflows.md#compensation). The task stays failed whatever it does.
   */
  readonly onFailure?: string;
  readonly steps: readonly StepDefinition<TContext>[];
}

/** A step of a validated template. Positions are indexes into `TaskTemplate.steps`. */
export interface TemplateStep {
  readonly position: number;
  readonly name: string;
  readonly handler: StepHandler<never> | string;
  readonly dependsOn: readonly string[];
  readonly parentPositions: readonly number[];
  readonly childPositions: readonly number[];
  readonly description: string | null;
  readonly dependentSystem: string;
  readonly retryable: boolean;
  readonly retryLimit: number;
  readonly timeoutMs: number | null;
  readonly skippable: boolean;
  readonly config: Readonly<Record<string, unknown>>;
  readonly customEvents: readonly CustomEventDefinition[];
  readonly kind: StepKind;
  /** The wait of a `sleep` or `signal` step; null for the others. */
  readonly wait: TemplateWait | null;
  /** A `batch` step's workers; null for the others. */
  readonly batch: {
    readonly handler: StepHandler<never> | string;
    readonly maxItems: number;
    readonly retryLimit: number;
    readonly retryable: boolean;
    readonly timeoutMs: number | null;
  } | null;
  /** Its own concurrency key (step scope); null: none, or the task's step-scoped one. */
  readonly concurrency: TemplateConcurrency | null;
  readonly rateLimits: readonly TemplateRateLimit[];
  /** The compensation step that undoes this one; null: none. */
  readonly undo: string | null;
}

/** A validated, normalized task definition: what `defineTask` returns and the registry holds. */
export interface TaskTemplate {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  /** `namespace.name@version` */
  readonly fullName: string;
  readonly description: string | null;
  readonly contextSchema: JsonSchema | null;
  readonly dependentSystem: string;
  /** Null: the engine's `identity.strategy` applies. */
  readonly identityStrategy: IdentityStrategy | null;
  /** Default priority of its tasks. */
  readonly priority: number;
  readonly concurrency: TemplateConcurrency | null;
  /** The compensation step that runs when a task fails for good; null: none. */
  readonly onFailure: string | null;
  /**
   * The steps: those that run with the task first, then the compensation steps (created only when a
   * task fails), so a step's position is the same in the template and in every task.
   */
  readonly steps: readonly TemplateStep[];
  /** Step names in a dependency-respecting order. */
  readonly executionOrder: readonly string[];
  /** SHA-256 of the template's structure (everything but the handler functions). */
  readonly hash: string;
}
