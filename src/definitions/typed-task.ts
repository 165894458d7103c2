/**
 * The typed, code-first way to define a task: `defineTask({ ...header })` without `steps` returns a
 * builder, and each `.step(name, options, handler)` adds a step whose handler sees
 *
 * - `context` typed by the context schema (a zod 4 schema gives its output type; JSON Schema gives
 *   `Record<string, unknown>`),
 * - `parents` holding exactly the steps named in `dependsOn`, each typed as what its handler returns
 *   after the trip through the database (JSON: a Date arrives as a string, `undefined` as null).
 *
 * `dependsOn` only accepts steps defined before (so the graph is acyclic by construction); a wrong name,
 * a parent not listed, or a step name used twice is a type error. `.build()` checks everything at run time
 * too (as `defineTask` does for a plain definition) and returns the template.
 *
 * @example
 * const order = defineTask({ namespace: 'shop', name: 'order', contextSchema: z.object({ cartId: z.number() }) })
 *   .step('validate_cart', async ({ context }) => ({ items: [context.cartId] }))
 *   .step('price', { dependsOn: ['validate_cart'] }, async ({ parents }) => ({ total: parents.validate_cart.items.length }))
 *   .build();
 */
import { TaskerError } from '../errors.js';
import type { StepContext, StepDefinition, TaskDefinition, TaskTemplate, ZodSchemaOf } from './types.js';

/** The context a schema describes: a zod schema's output type, else a plain record. */
export type ContextOf<TSchema> =
  TSchema extends ZodSchemaOf<infer TOutput> ? TOutput : Record<string, unknown>;

type JsonPrimitive = string | number | boolean | null;
type AnyFunction = (...args: never[]) => unknown;

/** A value as it comes back from JSON (`JSON.parse(JSON.stringify(value))`), as a type. */
export type Jsonify<T> = 0 extends 1 & T
  ? T // any stays any
  : T extends JsonPrimitive
    ? T
    : T extends undefined | symbol | bigint | AnyFunction
      ? never
      : T extends { toJSON(): infer J }
        ? Jsonify<J>
        : T extends readonly unknown[]
          ? { -readonly [I in keyof T]: Jsonify<T[I]> }
          : T extends object
            ? { -readonly [K in keyof T as T[K] extends AnyFunction ? never : K]: Jsonify<T[K]> }
            : T;

/** What a step's children receive from it: its handler's result, stored as JSON (`undefined` as null). */
export type StoredResult<R> =
  Awaited<R> extends infer A
    ? // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has type void; it is stored as null
      [A] extends [void]
      ? null
      : undefined extends A
        ? Jsonify<Exclude<A, undefined>> | null
        : Jsonify<A>
    : never;

/** No parents: a step that depends on none sees an empty, read-only record. */
type NoParents = Readonly<Record<never, never>>;

/** Options of a typed step: those of a step definition, with `dependsOn` limited to the steps before it. */
export interface TypedStepOptions<TParentName extends string = string>
  extends Omit<StepDefinition, 'name' | 'handler' | 'dependsOn'> {
  /** Steps that must finish first; only steps defined before this one. */
  readonly dependsOn?: readonly TParentName[];
}

export type TypedStepHandler<TContext, TParents extends object, TResult> = (
  context: StepContext<TContext, TParents>,
) => TResult;

/** The parents a step's handler sees: the results of the steps in its `dependsOn`. */
export type ParentsOf<TResults, TOptions> = TOptions extends { readonly dependsOn: readonly (infer D)[] }
  ? Readonly<Pick<TResults, D & keyof TResults>>
  : NoParents;

/** The entry a step adds to the builder's results: optional when the step may be bypassed. */
export type ResultEntry<TName extends string, TOptions, TResult> = TOptions extends {
  readonly skippable: true;
}
  ? { readonly [K in TName]?: StoredResult<TResult> }
  : { readonly [K in TName]: StoredResult<TResult> };

/** A step name not used yet; a repeated one is a type error naming the problem. */
export type NewStepName<TName extends string, TResults> = TName extends keyof TResults
  ? { readonly 'this step name is used already': TName }
  : unknown;

/** A task being defined step by step (see the module comment). Each call returns a new builder. */
export interface TaskBuilder<TContext, TResults extends object = Record<never, never>> {
  /** Adds a step that depends on no other. */
  step<const TName extends string, TResult>(
    name: TName & NewStepName<TName, TResults>,
    handler: TypedStepHandler<TContext, NoParents, TResult> | string,
  ): TaskBuilder<TContext, TResults & ResultEntry<TName, object, TResult>>;
  /** Adds a step with options: `dependsOn` (steps defined before), retries, timeout, config... */
  step<const TName extends string, const TOptions extends TypedStepOptions<keyof TResults & string>, TResult>(
    name: TName & NewStepName<TName, TResults>,
    options: TOptions,
    handler: TypedStepHandler<TContext, ParentsOf<TResults, TOptions>, TResult> | string,
  ): TaskBuilder<TContext, TResults & ResultEntry<TName, TOptions, TResult>>;
  /** Checks the task (as `defineTask` does) and returns the template to register. */
  build(): TaskTemplate;
}

/** A task definition without its steps: what `defineTask` takes to start a builder. */
export type TaskHeader<TSchema> = Omit<TaskDefinition, 'steps' | 'contextSchema'> & {
  readonly contextSchema?: TSchema;
  readonly steps?: undefined;
};

/** Marks builders, so loaders recognise one exported without `.build()`. */
export const TASK_BUILDER = Symbol.for('tasker.taskBuilder');

export function isTaskBuilder(value: unknown): value is TaskBuilder<unknown> {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TASK_BUILDER] === true
  );
}

/** The builder's run-time side: it only collects steps; `define` (defineTask) checks them at `build()`. */
export function createTaskBuilder(
  header: TaskHeader<unknown>,
  define: (definition: TaskDefinition<never>) => TaskTemplate,
  steps: readonly StepDefinition<never>[] = [],
): TaskBuilder<never> {
  const builder = {
    [TASK_BUILDER]: true,
    step(name: string, optionsOrHandler: unknown, handler?: unknown) {
      const [options, fn] = handler === undefined ? [{}, optionsOrHandler] : [optionsOrHandler, handler];
      if (typeof options !== 'object' || options === null || Array.isArray(options)) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          `step "${String(name)}": expected its options (an object) before the handler, got ${JSON.stringify(options)}`,
        );
      }
      const step = { ...options, name, handler: fn } as StepDefinition<never>;
      return createTaskBuilder(header, define, [...steps, step]);
    },
    build() {
      const { steps: _none, ...rest } = header;
      return define({ ...(rest as Omit<TaskDefinition<never>, 'steps'>), steps });
    },
  };
  return Object.freeze(builder) as unknown as TaskBuilder<never>;
}
