/**
 * One contract per request shape. The library validates calls with these zod schemas, the REST routes
 * take their JSON Schemas from them (api/schemas.ts, `wireJsonSchema`), and the GraphQL inputs are
 * checked against them by test/api/contracts.test.ts, so the three surfaces cannot drift apart again.
 * JSON has no Date: where the library also takes a Date, the wire form takes the ISO string alone.
 */
import { z } from 'zod';
import { prioritySchema } from './flow-control.js';
import { TASK_STATES } from './states.js';

const isoDateTime = z.iso.datetime({ offset: true });

const createTaskFields = {
  namespace: z.string().min(1).max(64).optional(),
  name: z.string({ error: 'expected the name of a registered task' }).min(1).max(64),
  version: z.string().min(1).max(64).optional(),
  context: z.record(z.string(), z.unknown(), { error: 'expected a JSON object' }).optional(),
  initiator: z.string().max(128).optional(),
  sourceSystem: z.string().max(128).optional(),
  reason: z.string().max(128).optional(),
  tags: z.array(z.string().min(1).max(64)).max(100).optional(),
  bypassSteps: z.array(z.string().min(1).max(128)).max(1000).optional(),
  idempotencyKey: z.string().min(1).max(255).optional(),
  correlationId: z.string().min(1).max(128).optional(),
  /** W3C trace context of the caller, so the task's spans join its trace. */
  traceparent: z.string().min(1).max(128).optional(),
  /** Claim priority of its steps (N is worth N seconds of waiting); default: the template's. */
  priority: prioritySchema.optional(),
};

/** Longest delay of a delayed task: a year and a day. */
export const MAX_TASK_DELAY_MS = 366 * 24 * 3600 * 1000;

const delayMs = z
  .number()
  .int()
  .min(0)
  .max(MAX_TASK_DELAY_MS, { error: `expected at most ${MAX_TASK_DELAY_MS} ms (366 days)` })
  .optional();

/** A request to create a task (library: `requestedAt` and `runAt` may be Dates). */
export const createTaskRequestSchema = z
  .object({
    ...createTaskFields,
    requestedAt: z.union([z.date(), isoDateTime]).optional(),
    /** Start no step before this time (a delayed task); a time in the past means now. */
    runAt: z.union([z.date(), isoDateTime]).optional(),
    /** Start no step before this many ms from now; not together with runAt. */
    delayMs,
  })
  .strict();
export type CreateTaskRequest = z.input<typeof createTaskRequestSchema>;

/** The same request as JSON (REST body, GraphQL input). */
export const createTaskRequestWireSchema = z
  .object({
    ...createTaskFields,
    requestedAt: isoDateTime.optional(),
    runAt: isoDateTime.optional(),
    delayMs,
  })
  .strict();

/** Most tasks one bulk request creates. */
export const MAX_BULK_TASKS = 1000;

/** A change to a task's reason and/or tags. */
export const taskUpdateSchema = z
  .object({
    /** A new reason; null clears it. */
    reason: z.string().max(128).nullable().optional(),
    /** Replaces the task's tags. */
    tags: z.array(z.string().min(1).max(64)).max(50).optional(),
  })
  .strict();
export type TaskUpdate = z.input<typeof taskUpdateSchema>;

/** A change to a step's retry limit and/or the inputs of its next attempt. */
export const stepUpdateSchema = z
  .object({
    retryLimit: z.number().int().min(1).max(1000).optional(),
    /** New inputs for the step's next attempt (any JSON; null clears them). */
    inputs: z.unknown().optional(),
  })
  .strict();
export type StepUpdate = z.input<typeof stepUpdateSchema>;

/** Why an operator cancels, retries or resolves something. */
export const reasonSchema = z.string().max(500).optional();

const listFilterFields = {
  namespace: z.string().min(1).max(64).optional(),
  name: z.string().min(1).max(64).optional(),
  version: z.string().min(1).max(64).optional(),
  tag: z.string().min(1).max(64).optional(),
  /** Only the child tasks of this task (docs/workflows.md#child-workflows). */
  parentTaskId: z.number().int().positive().optional(),
  /** From a previous page's nextCursor. */
  cursor: z.string().min(1).max(200).optional(),
};
const LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

/**
 * Which tasks a listing reads (docs/operations.md#archiving): `active` (not finished), `recent` (finished,
 * still in the live tables), `archived` (moved into the archive by retention), `all` (the three).
 * The default is active and recent: what the live tables hold.
 */
export const TASK_TIERS = ['active', 'recent', 'archived', 'all'] as const;
export type TaskTier = (typeof TASK_TIERS)[number];

/** The filter of listTasks (library). */
export const listTasksFilterSchema = z
  .object({
    ...listFilterFields,
    state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).min(1)]).optional(),
    /** Active, recent, archived or all tasks (one or a list). @defaultValue ['active', 'recent'] */
    tier: z.union([z.enum(TASK_TIERS), z.array(z.enum(TASK_TIERS)).min(1)]).optional(),
    createdAfter: z.coerce.date().optional(),
    createdBefore: z.coerce.date().optional(),
    /** Newest first (desc, the default) or oldest first. */
    order: z.enum(['asc', 'desc']).optional(),
    /** @defaultValue 50 */
    limit: z.number().int().min(LIST_LIMIT.min).max(LIST_LIMIT.max).optional(),
  })
  .strict();
export type ListTasksFilter = z.input<typeof listTasksFilterSchema>;

/** The same filter as a query string (`GET /tasks`): states repeated, `sort` by creation time. */
export const listTasksQuerySchema = z
  .object({
    ...listFilterFields,
    state: z.array(z.enum(TASK_STATES)).max(TASK_STATES.length).optional(),
    tier: z.array(z.enum(TASK_TIERS)).max(TASK_TIERS.length).optional(),
    createdAfter: isoDateTime.optional(),
    createdBefore: isoDateTime.optional(),
    sort: z.enum(['createdAt', '-createdAt']).default('-createdAt'),
    limit: z.number().int().min(LIST_LIMIT.min).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
  })
  .strict();
export type ListTasksQuery = z.output<typeof listTasksQuerySchema>;

/** The filter of the dead-letter view (library: `tasker.failures(filter)`). */
export const failureFilterSchema = z
  .object({
    /** Only failures from this time on (a Date or an ISO 8601 time with a zone). */
    since: z.union([z.date(), isoDateTime]).optional(),
    namespace: z.string().min(1).max(64).optional(),
    /** At most this many groups, or steps of one group. @defaultValue 50 */
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict();
export type FailureFilterInput = z.input<typeof failureFilterSchema>;

/** The same filter as a query string (`GET /failures`, `GET /failures/:fingerprint`). */
export const failuresQuerySchema = z
  .object({
    since: isoDateTime.optional(),
    namespace: z.string().min(1).max(64).optional(),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .strict();
export type FailuresQuery = z.output<typeof failuresQuerySchema>;

/**
 * The JSON Schema (draft-07) of a wire contract for Fastify's validator and the OpenAPI document, in the
 * plain form a client reads best: a date-time keeps its `format` only (Ajv checks the format itself; zod's
 * equivalent pattern would only make the message harder to read), and a nullable value is
 * `type: [T, 'null']` rather than an anyOf (one message, "must be string,null", instead of three).
 */
export function wireJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-07', io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return simplify(json) as Record<string, unknown>;
}

function simplify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(simplify);
  if (node === null || typeof node !== 'object') return node;
  const anyOf = (node as { anyOf?: unknown }).anyOf;
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    const [value, nullType] = anyOf as Array<Record<string, unknown>>;
    if (nullType?.type === 'null' && Object.keys(nullType).length === 1 && typeof value?.type === 'string') {
      const { anyOf: _anyOf, ...rest } = node as Record<string, unknown>;
      return simplify({ ...rest, ...value, type: [value.type, 'null'] });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && (node as { format?: unknown }).format === 'date-time') continue;
    out[key] = simplify(value);
  }
  return out;
}
