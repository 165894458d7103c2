/**
 * `defineTask`: checks a task definition and turns it into a TaskTemplate. Pure; every problem in the
 * definition is reported at once, each with its path (`steps[2].dependsOn[0]`) and what was expected.
 * The context schema is compiled later, when the template is registered (it needs the engine's ajv).
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import { z } from 'zod';
import { formatProblems, PermanentError, type Problem, TaskerError } from '../errors.js';
import {
  normalizeConcurrency,
  normalizeRateLimits,
  prioritySchema,
  rateLimitUseSchema,
  stepConcurrencySchema,
  taskConcurrencySchema,
} from '../model/flow-control.js';
import { IDENTITY_STRATEGY_NAMES, normalizeIdentityStrategy } from '../model/identity-strategies.js';
import {
  DEFAULT_MAX_BATCH_ITEMS,
  MAX_BATCH_ITEMS,
  STEP_KINDS,
  signalWaitSchema,
  sleepSchema,
  subtaskSchema,
  type TemplateWait,
  WAIT_HANDLER_NAME,
} from '../model/step-kinds.js';
import { formatPath, zodProblems } from '../parse-or-throw.js';
import { contextJsonSchema } from './context-schema.js';
import { childrenOf, findCycle, topologicalOrder } from './dag.js';
import { type ContextOf, createTaskBuilder, type TaskBuilder, type TaskHeader } from './typed-task.js';
import type {
  JsonSchema,
  StepHandler,
  TaskDefinition,
  TaskTemplate,
  TemplateStep,
  ZodSchemaOf,
} from './types.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_VERSION = '0.1.0';
export const DEFAULT_RETRY_LIMIT = 3;
/** Upper bounds that keep a misconfiguration from becoming a runaway. */
export const MAX_RETRY_LIMIT = 1000;
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
export const MAX_STEPS = 1000;

const name = (max: number, what: string) =>
  z
    .string({ error: `expected a ${what} (a string)` })
    .min(1, `expected a non-empty ${what}`)
    .max(max, `expected at most ${max} characters`)
    .regex(NAME, 'expected letters, digits, "_", "-" or "." (starting with a letter, digit or "_")');

const customEventSchema = z.object({ name: z.string().min(1), description: z.string().optional() }).strict();

const stepSchema = z
  .object({
    name: name(128, 'step name'),
    handler: z
      .union([z.string().min(1), z.custom<StepHandler>((v) => typeof v === 'function')], {
        error: 'expected a handler function or the name of a registered handler',
      })
      .optional(),
    dependsOn: z.array(z.string({ error: 'expected a step name' })).optional(),
    description: z.string().optional(),
    dependentSystem: name(64, 'dependent system name').optional(),
    retryable: z.boolean().optional(),
    retryLimit: z
      .number()
      .int('expected a whole number of attempts')
      .positive('expected a positive number of attempts (the first included)')
      .max(MAX_RETRY_LIMIT)
      .optional(),
    timeoutMs: z
      .number()
      .int('expected whole milliseconds')
      .positive('expected a positive timeout in milliseconds')
      .max(MAX_TIMEOUT_MS)
      .optional(),
    skippable: z.boolean().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    customEvents: z.array(customEventSchema).optional(),
    concurrency: stepConcurrencySchema.optional(),
    kind: z.enum(STEP_KINDS, { error: `expected one of ${STEP_KINDS.join(', ')}` }).optional(),
    sleep: sleepSchema.optional(),
    signal: signalWaitSchema.optional(),
    subtask: subtaskSchema.optional(),
    batch: z
      .object({
        handler: z.union([z.string().min(1), z.custom<StepHandler>((v) => typeof v === 'function')], {
          error: 'expected the handler of one item: a function or the name of a registered handler',
        }),
        maxItems: z.number().int().positive().max(MAX_BATCH_ITEMS).optional(),
        retryLimit: z.number().int().positive().max(MAX_RETRY_LIMIT).optional(),
        retryable: z.boolean().optional(),
        timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
      })
      .strict()
      .optional(),
    rateLimits: z.array(rateLimitUseSchema).max(10, 'expected at most 10 rate limits').optional(),
    undo: z.string({ error: 'expected the name of a compensation step' }).optional(),
  })
  .strict();

const definitionSchema = z
  .object({
    namespace: name(64, 'namespace').optional(),
    name: name(64, 'task name'),
    version: z
      .string()
      .refine((v) => semver.valid(v) !== null, 'expected a semantic version such as 1.0.0')
      .optional(),
    description: z.string().optional(),
    contextSchema: z.record(z.string(), z.unknown(), { error: 'expected a JSON Schema object' }).optional(),
    dependentSystem: name(64, 'dependent system name').optional(),
    identityStrategy: z
      .enum(IDENTITY_STRATEGY_NAMES, {
        error: `expected one of ${IDENTITY_STRATEGY_NAMES.filter((n) => n !== 'unique').join(', ')}`,
      })
      .optional(),
    priority: prioritySchema.optional(),
    concurrency: taskConcurrencySchema.optional(),
    onFailure: z.string({ error: 'expected the name of a compensation step' }).optional(),
    steps: z
      .array(stepSchema, { error: 'expected an array of steps' })
      .min(1, 'expected at least one step')
      .max(MAX_STEPS, `expected at most ${MAX_STEPS} steps`),
  })
  .strict();

// Kept importable from here for older imports; the helpers live beside the errors.
export { formatPath, zodProblems };

/** The fields of a parsed step that the checks below read. */
interface StepShape {
  name: string;
  dependsOn?: readonly string[];
  kind?: string;
  handler?: unknown;
  sleep?: unknown;
  signal?: unknown;
  subtask?: unknown;
  batch?: unknown;
  undo?: string | undefined;
  concurrency?: unknown;
  rateLimits?: unknown;
}

/** A step's kind and the fields that go with it: a handler for `step` and `decision`, the wait for the others. */
function kindProblems(step: StepShape, i: number): Problem[] {
  const kind = step.kind ?? 'step';
  const problems: Problem[] = [];
  const waits = kind === 'sleep' || kind === 'signal' || kind === 'subtask';
  if (!waits && step.handler === undefined) {
    problems.push({
      path: `steps[${i}].handler`,
      message: 'expected a handler function or the name of a registered handler',
    });
  }
  if (waits && step.handler !== undefined) {
    problems.push({ path: `steps[${i}].handler`, message: `a ${kind} step runs no handler: remove it` });
  }
  for (const field of ['sleep', 'signal', 'subtask', 'batch'] as const) {
    if (kind === field && step[field] === undefined) {
      problems.push({ path: `steps[${i}].${field}`, message: `required for a ${field} step` });
    }
    if (kind !== field && step[field] !== undefined) {
      problems.push({ path: `steps[${i}].${field}`, message: `only for a step of kind "${field}"` });
    }
  }
  return problems;
}

/** The handler of a `subtask` step: starts the declared child (once) and completes with its results. */
function subtaskHandler(decl: {
  namespace?: string | undefined;
  name: string;
  version?: string | undefined;
  context?: string | undefined;
}): StepHandler {
  return async ({ context, startChild }) => {
    let childContext: unknown = context;
    for (const part of decl.context ? decl.context.split('.') : []) {
      childContext = (childContext as Record<string, unknown> | undefined)?.[part];
    }
    if (typeof childContext !== 'object' || childContext === null || Array.isArray(childContext)) {
      throw new PermanentError(`the child's context (context.${decl.context}) must be an object`, {
        code: 'INVALID_CHILD_CONTEXT',
      });
    }
    const child = await startChild({
      ...(decl.namespace ? { namespace: decl.namespace } : {}),
      name: decl.name,
      ...(decl.version ? { version: decl.version } : {}),
      context: childContext as Record<string, unknown>,
    });
    return { childTaskId: child.taskId, results: child.results };
  };
}

function waitOf(step: {
  kind?: string;
  sleep?: { ms?: number | undefined; until?: string | undefined } | undefined;
  signal?:
    | { name: string; timeoutMs?: number | undefined; timeoutRetryable?: boolean | undefined }
    | undefined;
}): TemplateWait | null {
  if (step.kind === 'sleep' && step.sleep) {
    return Object.freeze({
      kind: 'sleep',
      ms: step.sleep.ms ?? null,
      untilPath: step.sleep.until ? Object.freeze(step.sleep.until.split('.')) : null,
    });
  }
  if (step.kind === 'signal' && step.signal) {
    return Object.freeze({
      kind: 'signal',
      name: step.signal.name,
      timeoutMs: step.signal.timeoutMs ?? null,
      timeoutRetryable: step.signal.timeoutRetryable ?? false,
    });
  }
  return null;
}

/**
 * Compensation steps: each is named by exactly one `undo` or by `onFailure`, depends on nothing and has
 * nothing depending on it; `undo` and `onFailure` name compensation steps.
 */
function compensationProblems(steps: readonly StepShape[], onFailure: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(steps.map((s, i) => [s.name, { step: s, i }]));
  const compensations = steps.filter((s) => s.kind === 'compensation').map((s) => s.name);
  const expected =
    compensations.length > 0
      ? `expected one of the compensation steps: ${compensations.map((n) => `"${n}"`).join(', ')}`
      : 'expected a step of kind "compensation" (there is none)';
  const usedBy = new Map<string, string>();
  const use = (target: string, path: string, by: string) => {
    const found = byName.get(target);
    if (found?.step.kind !== 'compensation') {
      problems.push({ path, message: `"${target}" is not a compensation step; ${expected}` });
    } else if (usedBy.has(target)) {
      problems.push({ path, message: `"${target}" already compensates ${usedBy.get(target)}` });
    } else {
      usedBy.set(target, by);
    }
  };
  if (onFailure !== undefined) use(onFailure, 'onFailure', 'the task (onFailure)');
  steps.forEach((step, i) => {
    if (step.undo === undefined) return;
    if (step.kind === 'compensation') {
      problems.push({ path: `steps[${i}].undo`, message: 'a compensation step has no undo of its own' });
    } else {
      use(step.undo, `steps[${i}].undo`, `step "${step.name}"`);
    }
  });
  steps.forEach((step, i) => {
    (step.dependsOn ?? []).forEach((dep, j) => {
      if (byName.get(dep)?.step.kind === 'compensation') {
        problems.push({
          path: `steps[${i}].dependsOn[${j}]`,
          message: `"${dep}" is a compensation step: it runs only when the task fails, nothing depends on it`,
        });
      }
    });
    if (step.kind !== 'compensation') return;
    if ((step.dependsOn ?? []).length > 0) {
      problems.push({
        path: `steps[${i}].dependsOn`,
        message: 'a compensation step depends on nothing: it runs when the task fails',
      });
    }
    for (const field of ['concurrency', 'rateLimits'] as const) {
      if (step[field] !== undefined) {
        problems.push({
          path: `steps[${i}].${field}`,
          message: 'not applied to compensation steps: remove it',
        });
      }
    }
    if (!usedBy.has(step.name)) {
      problems.push({
        path: `steps[${i}].kind`,
        message: `compensation step "${step.name}" is not named by any step's undo nor by onFailure`,
      });
    }
  });
  return problems;
}

/** Everything wrong with the dependencies of a definition whose shape is valid. */
function dependencyProblems(steps: readonly StepShape[], onFailure?: string): Problem[] {
  const problems: Problem[] = [];
  const positions = new Map<string, number>();
  steps.forEach((step, i) => {
    if (positions.has(step.name)) {
      problems.push({
        path: `steps[${i}].name`,
        message: `duplicate step name "${step.name}" (also steps[${positions.get(step.name)}])`,
      });
    } else {
      positions.set(step.name, i);
    }
  });
  steps.forEach((step, i) => {
    const seen = new Set<string>();
    (step.dependsOn ?? []).forEach((dep, j) => {
      const path = `steps[${i}].dependsOn[${j}]`;
      if (dep === step.name) problems.push({ path, message: `step "${step.name}" cannot depend on itself` });
      else if (!positions.has(dep)) {
        problems.push({
          path,
          message: `unknown step "${dep}"; expected one of: ${[...positions.keys()].map((n) => `"${n}"`).join(', ')}`,
        });
      } else if (seen.has(dep)) problems.push({ path, message: `"${dep}" is listed twice` });
      seen.add(dep);
    });
  });
  if (problems.length > 0) return problems;

  const parents = steps.map((s) => (s.dependsOn ?? []).map((d) => positions.get(d)!));
  steps.forEach((step, i) => {
    problems.push(...kindProblems(step, i));
  });
  steps.forEach((step, i) => {
    if (step.kind === 'decision' && !parents.some((ps) => ps.includes(i))) {
      problems.push({
        path: `steps[${i}].kind`,
        message: `decision step "${step.name}" has no steps that depend on it: it chooses among those`,
      });
    }
  });
  problems.push(...compensationProblems(steps, onFailure));
  const cycle = findCycle(parents);
  if (cycle) {
    const names = cycle.map((p) => steps[p]!.name);
    problems.push({ path: 'steps', message: `dependency cycle: ${names.join(' -> ')}` });
  }
  return problems;
}

/** The template's structure as canonical JSON (handler functions are named, not hashed). */
function structureOf(template: Omit<TaskTemplate, 'hash' | 'fullName'>): string {
  return JSON.stringify({
    namespace: template.namespace,
    name: template.name,
    version: template.version,
    contextSchema: template.contextSchema,
    steps: template.steps.map((s) => ({
      name: s.name,
      handler: typeof s.handler === 'string' ? s.handler : null,
      parents: s.parentPositions,
      retryable: s.retryable,
      retryLimit: s.retryLimit,
      timeoutMs: s.timeoutMs,
      skippable: s.skippable,
      config: s.config,
      ...(s.concurrency ? { concurrency: s.concurrency } : {}),
      ...(s.rateLimits.length > 0 ? { rateLimits: s.rateLimits } : {}),
      ...(s.kind && s.kind !== 'step' ? { kind: s.kind } : {}),
      ...(s.wait ? { wait: s.wait } : {}),
      ...(s.batch
        ? { batch: { ...s.batch, handler: typeof s.batch.handler === 'string' ? s.batch.handler : null } }
        : {}),
      ...(s.undo ? { undo: s.undo } : {}),
    })),
    ...(template.onFailure ? { onFailure: template.onFailure } : {}),
    // Only when declared, so that templates written before flow control keep their hash.
    ...(template.priority !== 0 ? { priority: template.priority } : {}),
    ...(template.concurrency ? { concurrency: template.concurrency } : {}),
  });
}

/**
 * Checks a definition and returns the template the engine runs. Throws TASKER_INVALID_DEFINITION listing
 * every problem: unknown keys, bad names, non-semver versions, unknown or duplicate dependencies, cycles
 * (named step by step), non-positive retry limits or timeouts, a context schema JSON Schema cannot hold.
 *
 * Without `steps`, returns a typed builder instead (see typed-task.ts): each `.step()` gets `context`
 * typed by the context schema (a zod schema's output) and `parents` typed by what its parents return.
 *
 * @example
 * const order = defineTask({
 *   namespace: 'ecommerce', name: 'order_processing', version: '1.0.0',
 *   steps: [
 *     { name: 'validate_cart', handler: async ({ context }) => ({ valid: true }) },
 *     { name: 'create_order', dependsOn: ['validate_cart'], handler: async ({ parents }) => parents.validate_cart },
 *   ],
 * });
 *
 * @example
 * const typed = defineTask({ namespace: 'ecommerce', name: 'order_processing', contextSchema: z.object({ cartId: z.number() }) })
 *   .step('validate_cart', async ({ context }) => ({ items: [context.cartId] }))
 *   .step('create_order', { dependsOn: ['validate_cart'] }, async ({ parents }) => parents.validate_cart.items)
 *   .build();
 */
export function defineTask<TContext = Record<string, unknown>>(
  definition: TaskDefinition<TContext>,
): TaskTemplate;
export function defineTask<const TSchema extends JsonSchema | ZodSchemaOf | undefined = undefined>(
  header: TaskHeader<TSchema>,
): TaskBuilder<ContextOf<TSchema>>;
// The implementation takes any object: the overloads above give the types; the checks below are the truth.
export function defineTask(given: object): TaskTemplate | TaskBuilder<unknown> {
  const definition = given as Partial<TaskDefinition<never>> | null;
  if (typeof definition === 'object' && definition !== null && definition.steps === undefined) {
    return createTaskBuilder(definition as TaskHeader<unknown>, (d) => defineTask(d));
  }
  const converted = contextJsonSchema(definition?.contextSchema);
  const input =
    converted.schema === definition?.contextSchema
      ? definition
      : { ...definition, contextSchema: converted.schema };
  const parsed = definitionSchema.safeParse(input);
  const problems = [
    ...converted.problems,
    ...(parsed.success
      ? dependencyProblems(parsed.data.steps, parsed.data.onFailure)
      : zodProblems(parsed.error)),
  ];
  if (!parsed.success || problems.length > 0) {
    const label = typeof definition?.name === 'string' ? `task "${definition.name}"` : 'task definition';
    throw new TaskerError('TASKER_INVALID_DEFINITION', `invalid ${label}:\n${formatProblems(problems)}`, {
      details: problems,
    });
  }
  const def = parsed.data;
  // Compensation steps last: the steps created with a task keep their template positions.
  const ordered = [
    ...def.steps.filter((s) => s.kind !== 'compensation'),
    ...def.steps.filter((s) => s.kind === 'compensation'),
  ];
  const positions = new Map(ordered.map((s, i) => [s.name, i]));
  const parents = ordered.map((s) => (s.dependsOn ?? []).map((d) => positions.get(d)!));
  const children = childrenOf(parents);
  const dependentSystem = def.dependentSystem ?? 'default';
  const namespace = def.namespace ?? DEFAULT_NAMESPACE;
  const steps: TemplateStep[] = ordered.map((s, i) =>
    Object.freeze({
      position: i,
      name: s.name,
      handler: (s.handler ??
        (s.kind === 'subtask' && s.subtask ? subtaskHandler(s.subtask) : WAIT_HANDLER_NAME)) as
        | StepHandler<never>
        | string,
      dependsOn: Object.freeze([...(s.dependsOn ?? [])]),
      parentPositions: Object.freeze(parents[i]!),
      childPositions: Object.freeze(children[i]!),
      description: s.description ?? null,
      dependentSystem: s.dependentSystem ?? dependentSystem,
      retryable: s.retryable ?? true,
      retryLimit: s.retryable === false ? 1 : (s.retryLimit ?? DEFAULT_RETRY_LIMIT),
      timeoutMs: s.timeoutMs ?? null,
      skippable: s.skippable ?? false,
      config: Object.freeze({ ...(s.config ?? {}) }),
      customEvents: Object.freeze([...(s.customEvents ?? [])]),
      concurrency: s.concurrency
        ? normalizeConcurrency(s.concurrency, `${namespace}.${def.name}.${s.name}`, 'step')
        : null,
      rateLimits: normalizeRateLimits(s.rateLimits),
      kind: s.kind ?? 'step',
      wait: waitOf(s),
      batch: s.batch
        ? Object.freeze({
            handler: s.batch.handler as StepHandler<never> | string,
            maxItems: s.batch.maxItems ?? DEFAULT_MAX_BATCH_ITEMS,
            retryLimit: s.batch.retryable === false ? 1 : (s.batch.retryLimit ?? DEFAULT_RETRY_LIMIT),
            retryable: s.batch.retryable ?? true,
            timeoutMs: s.batch.timeoutMs ?? null,
          })
        : null,
      undo: s.undo ?? null,
    }),
  );
  const base = {
    namespace,
    name: def.name,
    version: def.version ?? DEFAULT_VERSION,
    description: def.description ?? null,
    contextSchema: def.contextSchema ?? null,
    dependentSystem,
    identityStrategy: def.identityStrategy ? normalizeIdentityStrategy(def.identityStrategy) : null,
    priority: def.priority ?? 0,
    concurrency: def.concurrency
      ? normalizeConcurrency(def.concurrency, `${namespace}.${def.name}`, 'task')
      : null,
    onFailure: def.onFailure ?? null,
    steps: Object.freeze(steps),
    executionOrder: Object.freeze(
      topologicalOrder(parents)
        .filter((p) => steps[p]!.kind !== 'compensation')
        .map((p) => steps[p]!.name),
    ),
  };
  return Object.freeze({
    ...base,
    fullName: `${base.namespace}.${base.name}@${base.version}`,
    hash: createHash('sha256').update(structureOf(base)).digest('hex'),
  });
}
