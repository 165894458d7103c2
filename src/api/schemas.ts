/**
 * JSON Schemas of every request and response body. Fastify validates requests and serializes responses
 * with them, and @fastify/swagger turns the same schemas into the OpenAPI document. Request bodies come
 * from the contracts the library validates with (model/contracts.ts); responses are described here.
 */
import { z } from 'zod';
import { createTaskRequestWireSchema, reasonSchema, wireJsonSchema } from '../model/contracts.js';
import { STEP_STATES, TASK_STATES } from '../model/states.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const anyJson = {} as const;
export const idParam = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    existingTaskId: {
      type: 'integer',
      description: 'TASKER_DUPLICATE_TASK: the existing task the request duplicates',
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
        required: ['path', 'message'],
      },
    },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

const taskProperties = {
  id: { type: 'integer' },
  namespace: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  state: { type: 'string', enum: [...TASK_STATES] },
  context: { type: 'object', additionalProperties: true },
  initiator: nullableString,
  sourceSystem: nullableString,
  reason: nullableString,
  tags: { type: 'array', items: { type: 'string' } },
  bypassSteps: { type: 'array', items: { type: 'string' } },
  requestedAt: dateTime,
  runAt: { ...dateTime, nullable: true },
  priority: { type: 'integer', description: 'Claim priority: N is worth N seconds of waiting' },
  concurrencyKey: { ...nullableString, description: 'Its task-scoped concurrency key (group=value)' },
  parentTaskId: { type: ['integer', 'null'], description: 'A child task: the task whose step started it' },
  parentStepId: { type: ['integer', 'null'], description: 'A child task: the step that waits for it' },
  identityKey: nullableString,
  correlationId: nullableString,
  traceparent: nullableString,
  stepCount: { type: 'integer' },
  unfinishedSteps: { type: 'integer' },
  failedSteps: { type: 'integer' },
  createdAt: dateTime,
  updatedAt: dateTime,
  startedAt: nullableDateTime,
  completedAt: nullableDateTime,
  archivedAt: {
    ...nullableDateTime,
    description: 'When retention moved it into the archive (read-only from then on); null: live',
  },
} as const;

export const taskSchema = {
  $id: 'Task',
  type: 'object',
  properties: taskProperties,
  required: ['id', 'namespace', 'name', 'version', 'state'],
} as const;

const stepProperties = {
  id: { type: 'integer' },
  taskId: { type: 'integer' },
  name: { type: 'string' },
  position: { type: 'integer' },
  state: { type: 'string', enum: [...STEP_STATES] },
  attempts: { type: 'integer' },
  totalAttempts: { type: 'integer' },
  retryLimit: { type: 'integer' },
  retryable: { type: 'boolean' },
  timeoutMs: { type: ['integer', 'null'] },
  skippable: { type: 'boolean' },
  blocked: { type: 'boolean' },
  parentIds: { type: 'array', items: { type: 'integer' } },
  childIds: { type: 'array', items: { type: 'integer' } },
  inputs: anyJson,
  results: anyJson,
  lastError: {
    anyOf: [
      { type: 'null' },
      {
        type: 'object',
        properties: {
          class: { type: 'string' },
          message: { type: 'string' },
          stack: { type: 'string' },
          code: { type: 'string' },
          context: { type: 'object', additionalProperties: true },
          category: { type: 'string', description: 'What kind of failure (docs/diagnostics.md)' },
          fingerprint: { type: 'string', description: 'Groups occurrences of the same problem' },
        },
      },
    ],
  },
  runAt: nullableDateTime,
  waitingForKey: {
    ...nullableString,
    description: 'The concurrency key whose slot this ready step waits for',
  },
  throttledAt: { ...nullableDateTime, description: 'When its wait for a concurrency slot or tokens began' },
  batchParentId: { type: ['integer', 'null'], description: 'A batch worker: the batch step that created it' },
  batchIndex: { type: ['integer', 'null'], description: "A batch worker: its item's place in the batch" },
  waiting: {
    description:
      'What a waiting step waits for: its batch workers, a child task, a signal, a sleep, a concurrency key slot or rate-limit tokens; null when it does not wait',
    oneOf: [
      { type: 'null' },
      {
        type: 'object',
        required: ['for', 'since', 'until', 'name', 'taskId', 'pending'],
        properties: {
          for: { type: 'string', enum: ['batch', 'child', 'signal', 'sleep', 'key', 'rate_limit'] },
          since: nullableDateTime,
          until: { ...nullableDateTime, description: "A sleep's end, a signal's timeout, the tokens' time" },
          name: { ...nullableString, description: 'The signal, or the concurrency key' },
          taskId: { type: ['integer', 'null'], description: 'The child task' },
          pending: { type: ['integer', 'null'], description: 'Batch workers not finished yet' },
        },
      },
    ],
  },
  compensation: {
    type: ['string', 'null'],
    enum: ['undo', 'on_failure', null],
    description: 'A compensation step created when the task failed: undo or on_failure',
  },
  backoffRequestSeconds: { type: ['number', 'null'] },
  lastAttemptedAt: nullableDateTime,
  completedAt: nullableDateTime,
  workerId: nullableString,
  workerName: { ...nullableString, description: "The worker's name (host:pid unless given one)" },
  displayState: {
    type: 'string',
    enum: [...STEP_STATES, 'blocked'],
    description: 'The state as shown to people: blocked for a pending step below a step that failed for good',
  },
  stateLabel: { type: 'string', description: 'The display state in words, e.g. "blocked by a failed step"' },
  createdAt: dateTime,
  updatedAt: dateTime,
} as const;

export const stepSchema = {
  $id: 'Step',
  type: 'object',
  properties: stepProperties,
  required: ['id', 'taskId', 'name', 'state'],
} as const;

const transitionProperties = <const S extends readonly string[]>(states: S) =>
  ({
    sortKey: { type: 'integer' },
    fromState: { type: ['string', 'null'], enum: [...states, null] },
    toState: { type: 'string', enum: [...states] },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    createdAt: dateTime,
    mostRecent: { type: 'boolean' },
  }) as const;
const TRANSITION_REQUIRED = [
  'sortKey',
  'fromState',
  'toState',
  'metadata',
  'createdAt',
  'mostRecent',
] as const;

export const taskTransitionSchema = {
  $id: 'TaskTransition',
  type: 'object',
  properties: { taskId: { type: 'integer' }, ...transitionProperties(TASK_STATES) },
  required: ['taskId', ...TRANSITION_REQUIRED],
} as const;

export const stepTransitionSchema = {
  $id: 'StepTransition',
  type: 'object',
  properties: {
    stepId: { type: 'integer' },
    taskId: { type: 'integer' },
    stepName: { type: 'string' },
    workerName: { ...nullableString, description: 'The worker an attempt started on, by name' },
    ...transitionProperties(STEP_STATES),
  },
  required: ['stepId', 'taskId', 'stepName', 'workerName', ...TRANSITION_REQUIRED],
} as const;

/** Audit entries are task or step transitions; the step fields are present for step entries. */
export const auditEntrySchema = {
  $id: 'AuditEntry',
  type: 'object',
  properties: {
    taskId: { type: 'integer' },
    stepId: { type: 'integer' },
    stepName: { type: 'string' },
    workerName: { ...nullableString, description: 'The worker an attempt started on, by name' },
    ...transitionProperties([...new Set([...TASK_STATES, ...STEP_STATES])]),
  },
  required: ['taskId', ...TRANSITION_REQUIRED],
} as const;

export const taskWithStepsSchema = {
  $id: 'TaskWithSteps',
  type: 'object',
  properties: {
    ...taskProperties,
    steps: { type: 'array', items: { $ref: 'Step#' } },
    dependencies: {
      type: 'object',
      description: 'Present with include=dependencies',
      properties: {
        levels: {
          type: 'array',
          items: {
            type: 'object',
            properties: { stepId: { type: 'integer' }, name: { type: 'string' }, level: { type: 'integer' } },
          },
        },
        executionOrder: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        executionContext: { type: 'object', additionalProperties: true },
        criticalPath: {
          type: 'object',
          description: 'The longest path by recorded durations (estimates for steps not run yet)',
          properties: {
            steps: { type: 'array', items: { type: 'string' } },
            stepIds: { type: 'array', items: { type: 'integer' } },
            durationMs: { type: 'number' },
            estimated: {
              type: 'array',
              items: { type: 'string' },
              description: 'Steps on the path whose duration is an estimate (they have not finished)',
            },
          },
          required: ['steps', 'stepIds', 'durationMs', 'estimated'],
          additionalProperties: true,
        },
        bottlenecks: { type: 'array', items: { type: 'object', additionalProperties: true } },
        parallelism: { type: 'object', additionalProperties: true },
      },
    },
  },
  required: ['id', 'state', 'steps'],
} as const;

export const stepDetailSchema = {
  $id: 'StepDetail',
  type: 'object',
  properties: {
    ...stepProperties,
    siblingIds: { type: 'array', items: { type: 'integer' } },
    transitions: { type: 'array', items: { $ref: 'StepTransition#' } },
  },
  required: ['id', 'taskId', 'name', 'state'],
} as const;

/** The body of POST /tasks: the wire form of the one create-task contract (model/contracts.ts). */
export const createTaskBodySchema = {
  $id: 'CreateTaskRequest',
  ...wireJsonSchema(createTaskRequestWireSchema),
} as const;

export const schemas = [
  problemSchema,
  taskSchema,
  stepSchema,
  taskTransitionSchema,
  stepTransitionSchema,
  auditEntrySchema,
  taskWithStepsSchema,
  stepDetailSchema,
  createTaskBodySchema,
];

/** The body of cancel and retry: an optional reason. */
export const reasonBody = wireJsonSchema(z.object({ reason: reasonSchema }).strict());

export const itemsOf = (ref: string) =>
  ({
    type: 'object',
    properties: { items: { type: 'array', items: { $ref: `${ref}#` } } },
    required: ['items'],
  }) as const;

export const problemResponses = {
  '4xx': { $ref: 'Problem#' },
  '5xx': { $ref: 'Problem#' },
} as const;
