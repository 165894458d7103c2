/**
 * Flow control declared by templates (docs/flow-control.md): priorities, concurrency keys and rate
 * limits. Pure: the schemas that check declarations, their normalized form, and the values a task's
 * context gives them (what create_tasks stores with the task and its steps; migration 19 enforces them).
 */
import { z } from 'zod';
import type { Problem } from '../errors.js';
import type { TemplateWait } from './step-kinds.js';

/** Priority N is worth N seconds of waiting; bounded so that one task cannot starve the queue for long. */
export const MAX_PRIORITY = 1_000_000;
/** Most steps (or tasks) with one key at once. */
export const MAX_CONCURRENCY_LIMIT = 100_000;

const RATE_LIMIT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const KEY_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

export const prioritySchema = z
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(-MAX_PRIORITY, `expected at least -${MAX_PRIORITY}`)
  .max(MAX_PRIORITY, `expected at most ${MAX_PRIORITY}`);

export const rateLimitNameSchema = z
  .string({ error: 'expected a rate limit name' })
  .min(1)
  .max(128)
  .regex(RATE_LIMIT_NAME, 'expected letters, digits, "_", ".", ":" or "-"');

const concurrencyFields = {
  /** A path in the task context (`customerId`, `customer.id`; a leading `context.` is allowed). */
  key: z
    .string({ error: 'expected a context path such as "customerId"' })
    .transform((s) => s.replace(/^context\./, ''))
    .pipe(z.string().regex(KEY_PATH, 'expected a context path such as "customerId" or "customer.id"')),
  limit: z
    .number({ error: 'expected a positive whole number' })
    .int('expected a positive whole number')
    .positive('expected a positive whole number')
    .max(MAX_CONCURRENCY_LIMIT),
  /** Keys of one group are shared; by default each template (or template step) is its own group. */
  group: z.string().min(1).max(128).optional(),
};

export const stepConcurrencySchema = z.object(concurrencyFields).strict();
export const taskConcurrencySchema = z
  .object({
    ...concurrencyFields,
    /** task: at most `limit` tasks with a key run (from first step to finish); step: `limit` steps. */
    scope: z.enum(['task', 'step'], { error: 'expected "task" or "step"' }).optional(),
  })
  .strict();

export const rateLimitUseSchema = z.union(
  [
    rateLimitNameSchema,
    z
      .object({
        name: rateLimitNameSchema,
        units: z.number().positive('expected a positive number of units').max(1_000_000).optional(),
      })
      .strict(),
  ],
  { error: 'expected a rate limit name or { name, units }' },
);

export type StepConcurrencyDefinition = z.input<typeof stepConcurrencySchema>;
export type TaskConcurrencyDefinition = z.input<typeof taskConcurrencySchema>;
export type RateLimitUse = z.input<typeof rateLimitUseSchema>;

/** A concurrency key as the engine holds it. */
export interface TemplateConcurrency {
  /** The context path, split. */
  readonly path: readonly string[];
  readonly limit: number;
  readonly scope: 'task' | 'step';
  readonly group: string;
}

export interface TemplateRateLimit {
  readonly name: string;
  readonly units: number;
}

export function normalizeConcurrency(
  given: { key: string; limit: number; group?: string | undefined; scope?: 'task' | 'step' | undefined },
  defaultGroup: string,
  scope: 'task' | 'step',
): TemplateConcurrency {
  return Object.freeze({
    path: Object.freeze(given.key.split('.')),
    limit: given.limit,
    scope: given.scope ?? scope,
    group: given.group ?? defaultGroup,
  });
}

export function normalizeRateLimits(
  given: readonly RateLimitUse[] | undefined,
): readonly TemplateRateLimit[] {
  return Object.freeze(
    (given ?? []).map((use) =>
      Object.freeze(
        typeof use === 'string' ? { name: use, units: 1 } : { name: use.name, units: use.units ?? 1 },
      ),
    ),
  );
}

/** What a template declares, in the shape `flowOf` reads. */
export interface FlowDeclarations {
  readonly priority: number;
  readonly concurrency: TemplateConcurrency | null;
  readonly steps: ReadonlyArray<{
    readonly name: string;
    readonly position: number;
    readonly concurrency: TemplateConcurrency | null;
    readonly rateLimits: readonly TemplateRateLimit[];
    readonly wait: TemplateWait | null;
  }>;
}

/** What create_tasks stores for one step (migrations 19 and 21). */
export interface StepFlow {
  key?: string;
  limit?: number;
  rate_limits?: TemplateRateLimit[];
  wait?:
    | { sleep_ms: number }
    | { until: string }
    | { signal: string; timeout_ms: number | null; timeout_retryable: boolean };
}

/** What create_tasks stores for one task (migration 19). */
export interface TaskFlow {
  readonly priority: number;
  readonly task_key: string | null;
  readonly task_limit: number | null;
  /** By step position; only steps under flow control. */
  readonly steps_flow: Record<string, StepFlow>;
}

function keyValue(context: Readonly<Record<string, unknown>>, path: readonly string[]): string | undefined {
  let value: unknown = context;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The flow-control values of one task: its priority and the concurrency keys its context gives. A key's
 * value must be a non-empty string, a number or a boolean in the context; otherwise a problem names it.
 */
export function flowOf(
  template: FlowDeclarations,
  context: Readonly<Record<string, unknown>>,
  priority: number | undefined,
  at: (path: string) => string,
): TaskFlow | Problem[] {
  const problems: Problem[] = [];
  const keyOf = (c: TemplateConcurrency, where: string): string | null => {
    const value = keyValue(context, c.path);
    if (value === undefined) {
      problems.push({
        path: at(`context/${c.path.join('/')}`),
        message: `required by the concurrency key "${c.path.join('.')}" of ${where}: expected a non-empty string, a number or a boolean`,
      });
      return null;
    }
    return `${c.group}=${value}`;
  };
  const taskLevel = template.concurrency;
  const taskKey = taskLevel?.scope === 'task' ? keyOf(taskLevel, 'the task') : null;
  const stepsFlow: TaskFlow['steps_flow'] = {};
  for (const step of template.steps) {
    const own = step.concurrency ?? (taskLevel?.scope === 'step' ? taskLevel : null);
    const entry: StepFlow = {};
    if (own) {
      const key = keyOf(own, `step "${step.name}"`);
      if (key !== null) {
        entry.key = key;
        entry.limit = own.limit;
      }
    }
    if (step.rateLimits.length > 0) entry.rate_limits = [...step.rateLimits];
    const wait = step.wait;
    if (wait?.kind === 'signal') {
      entry.wait = {
        signal: wait.name,
        timeout_ms: wait.timeoutMs,
        timeout_retryable: wait.timeoutRetryable,
      };
    } else if (wait?.kind === 'sleep' && wait.ms !== null) {
      entry.wait = { sleep_ms: wait.ms };
    } else if (wait?.kind === 'sleep' && wait.untilPath) {
      const raw = keyValue(context, wait.untilPath);
      const time = raw === undefined ? Number.NaN : Date.parse(raw);
      if (Number.isNaN(time)) {
        problems.push({
          path: at(`context/${wait.untilPath.join('/')}`),
          message: `required by sleep step "${step.name}": expected a date-time such as 2026-12-24T18:00:00Z`,
        });
      } else entry.wait = { until: new Date(time).toISOString() };
    }
    if (Object.keys(entry).length > 0) stepsFlow[String(step.position)] = entry;
  }
  if (problems.length > 0) return problems;
  return {
    priority: priority ?? template.priority,
    task_key: taskKey,
    task_limit: taskKey === null ? null : taskLevel!.limit,
    steps_flow: stepsFlow,
  };
}
