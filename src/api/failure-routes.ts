/**
 * The dead-letter view over REST: steps that failed for good, grouped by fingerprint with a category and
 * a resolution hint, and the failed steps of one group (docs/diagnostics.md).
 *
 *   GET {prefix}/failures                ?since&namespace&limit: the groups, largest first
 *   GET {prefix}/failures/:fingerprint   ?since&namespace&limit: its failed steps, newest first
 */
import { type FailuresQuery, failuresQuerySchema, wireJsonSchema } from '../model/contracts.js';
import type { RouteModule } from './context.js';
import { HttpProblem } from './problems.js';
import { problemResponses } from './schemas.js';

const query = wireJsonSchema(failuresQuerySchema);
const error = {
  type: 'object',
  properties: {
    class: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'string' },
    stack: { type: 'string' },
    category: { type: 'string' },
    fingerprint: { type: 'string' },
  },
  required: ['class', 'message'],
  additionalProperties: true,
} as const;
const template = {
  type: 'object',
  properties: {
    namespace: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    step: { type: 'string' },
  },
  required: ['namespace', 'name', 'version', 'step'],
} as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

const failureGroup = {
  type: 'object',
  properties: {
    fingerprint: { type: 'string', description: 'Same problem, same fingerprint' },
    category: { type: 'string', description: 'timeout, connection_refused, http_4xx, handler_bug, ...' },
    steps: { type: 'integer', description: 'Steps that failed for good with it' },
    tasks: { type: 'integer' },
    firstSeen: dateTime,
    lastSeen: dateTime,
    affected: { type: 'array', items: template, description: 'Templates and steps it happens in' },
    sample: error,
    sampleTaskId: { type: 'integer' },
    sampleStepId: { type: 'integer' },
    retryingNow: { type: 'integer', description: 'Steps failing with it right now, waiting to retry' },
    retryStats: {
      type: 'array',
      description:
        'Steps that failed with it over the last 7 days: per attempt (from 2), how many reached it and succeeded there',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer' },
          reached: { type: 'integer' },
          succeeded: { type: 'integer' },
        },
        required: ['attempt', 'reached', 'succeeded'],
      },
    },
    hint: { type: 'string', description: 'What to do about it' },
    hintRule: { type: 'string', description: 'The rule that gave the hint' },
  },
  required: [
    'fingerprint',
    'category',
    'steps',
    'tasks',
    'firstSeen',
    'lastSeen',
    'affected',
    'sample',
    'sampleTaskId',
    'sampleStepId',
    'retryingNow',
    'retryStats',
    'hint',
    'hintRule',
  ],
} as const;

const failedStep = {
  type: 'object',
  properties: {
    stepId: { type: 'integer' },
    taskId: { type: 'integer' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    step: { type: 'string' },
    attempts: { type: 'integer' },
    failedAt: dateTime,
    error,
  },
  required: ['stepId', 'taskId', 'namespace', 'name', 'version', 'step', 'attempts', 'failedAt', 'error'],
} as const;

const filterOf = (q: FailuresQuery) => ({
  limit: q.limit,
  ...(q.since ? { since: q.since } : {}),
  ...(q.namespace ? { namespace: q.namespace } : {}),
});

export const failureRoutes: RouteModule = (app, { tasker }) => {
  app.get<{ Querystring: FailuresQuery }>(
    '/failures',
    {
      config: { permission: 'tasker.analytics:index' },
      schema: {
        tags: ['failures'],
        summary: 'Steps that failed for good, grouped by fingerprint, with a category and a hint',
        querystring: query,
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: failureGroup } },
            required: ['items'],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => ({ items: await tasker.failures(filterOf(request.query)) }),
  );

  app.get<{ Params: { fingerprint: string }; Querystring: FailuresQuery }>(
    '/failures/:fingerprint',
    {
      config: { permission: 'tasker.analytics:index' },
      schema: {
        tags: ['failures'],
        summary: 'The failed steps of one failure group, newest first',
        params: {
          type: 'object',
          properties: { fingerprint: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['fingerprint'],
        },
        querystring: query,
        response: {
          200: {
            type: 'object',
            properties: { fingerprint: { type: 'string' }, items: { type: 'array', items: failedStep } },
            required: ['fingerprint', 'items'],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { fingerprint } = request.params;
      const items = await tasker.failedSteps(fingerprint, filterOf(request.query));
      if (items.length === 0) {
        throw new HttpProblem(
          404,
          'TASKER_NOT_FOUND',
          `no step failed for good with fingerprint ${fingerprint}${request.query.since || request.query.namespace ? ' under this filter' : ''}`,
        );
      }
      return { fingerprint, items };
    },
  );
};
