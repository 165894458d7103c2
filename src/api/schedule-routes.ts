/**
 * Schedules over REST (docs/schedules.md):
 *
 *   GET    {prefix}/schedules               ?upcoming=N: every schedule with its next N fire times
 *   POST   {prefix}/schedules               add one, or change the one with that name
 *   GET    {prefix}/schedules/:name         one, with its recent fires
 *   DELETE {prefix}/schedules/:name
 *   POST   {prefix}/schedules/:name/pause | /resume | /run (create its task now)
 */
import { scheduleSpecSchema } from '../engine/schedules.js';
import { wireJsonSchema } from '../model/contracts.js';
import type { RouteModule } from './context.js';
import { problemResponses } from './schemas.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const schedule = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    task: { type: 'string', description: 'NAMESPACE/NAME[@VERSION] of the template' },
    cron: { type: ['string', 'null'] },
    intervalMs: { type: ['integer', 'null'] },
    timezone: { type: 'string' },
    context: { type: 'object', additionalProperties: true },
    catchUp: { type: 'string', enum: ['skip', 'once', 'all'] },
    catchUpLimit: { type: 'integer' },
    paused: { type: 'boolean' },
    nextFireAt: nullableDateTime,
    upcoming: { type: 'array', items: dateTime, description: 'The next fire times (none while paused)' },
    lastFiredAt: nullableDateTime,
    lastTaskId: { type: ['integer', 'null'] },
    fires: { type: 'integer' },
    skippedTicks: { type: 'integer' },
    source: { type: 'string', enum: ['api', 'config'] },
    createdAt: dateTime,
    recentFires: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          tickAt: dateTime,
          taskId: { type: ['integer', 'null'] },
          firedAt: dateTime,
          manual: { type: 'boolean' },
        },
        required: ['tickAt', 'taskId', 'firedAt', 'manual'],
      },
    },
  },
  // recentFires: only in one schedule's detail.
  required: [
    'name',
    'task',
    'cron',
    'intervalMs',
    'timezone',
    'context',
    'catchUp',
    'catchUpLimit',
    'paused',
    'nextFireAt',
    'upcoming',
    'lastFiredAt',
    'lastTaskId',
    'fires',
    'skippedTicks',
    'source',
    'createdAt',
  ],
} as const;
const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['name'],
} as const;
const upcomingQuery = {
  type: 'object',
  properties: { upcoming: { type: 'integer', minimum: 0, maximum: 100, default: 5 } },
  additionalProperties: false,
} as const;
const created = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    state: { type: 'string' },
    created: { type: 'boolean' },
  },
} as const;

type Name = { Params: { name: string } };

export const scheduleRoutes: RouteModule = (app, { tasker }) => {
  app.get<{ Querystring: { upcoming: number } }>(
    '/schedules',
    {
      config: { permission: 'tasker.schedule:index' },
      schema: {
        tags: ['schedules'],
        summary: 'Every schedule with its next fire times',
        querystring: upcomingQuery,
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: schedule } },
            required: ['items'],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => ({ items: await tasker.listSchedules({ upcoming: request.query.upcoming }) }),
  );

  app.post<{ Body: Parameters<typeof tasker.addSchedule>[0] }>(
    '/schedules',
    {
      config: { permission: 'tasker.schedule:create' },
      schema: {
        tags: ['schedules'],
        summary: 'Add a schedule, or change the one with that name',
        body: wireJsonSchema(scheduleSpecSchema),
        response: { 200: schedule, ...problemResponses },
      },
    },
    async (request) => tasker.addSchedule(request.body),
  );

  app.get<Name & { Querystring: { upcoming: number } }>(
    '/schedules/:name',
    {
      config: { permission: 'tasker.schedule:show' },
      schema: {
        tags: ['schedules'],
        summary: 'A schedule with its recent fires',
        params: nameParams,
        querystring: upcomingQuery,
        response: { 200: schedule, ...problemResponses },
      },
    },
    async (request) => tasker.getSchedule(request.params.name, { upcoming: request.query.upcoming }),
  );

  app.delete<Name>(
    '/schedules/:name',
    {
      config: { permission: 'tasker.schedule:destroy' },
      schema: {
        tags: ['schedules'],
        summary: 'Remove a schedule',
        params: nameParams,
        response: { 204: { type: 'null' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      await tasker.removeSchedule(request.params.name);
      return reply.code(204).send();
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<Name>(
      `/schedules/:name/${action}`,
      {
        config: { permission: 'tasker.schedule:update' },
        schema: {
          tags: ['schedules'],
          summary:
            action === 'pause' ? 'Stop firing a schedule' : 'Fire a paused schedule again (catch-up applies)',
          params: nameParams,
          response: { 200: schedule, ...problemResponses },
        },
      },
      async (request) =>
        action === 'pause'
          ? tasker.pauseSchedule(request.params.name)
          : tasker.resumeSchedule(request.params.name),
    );
  }

  app.post<Name>(
    '/schedules/:name/run',
    {
      config: { permission: 'tasker.schedule:run' },
      schema: {
        tags: ['schedules'],
        summary: "Create the schedule's task now (its timing stays as it is)",
        params: nameParams,
        response: { 201: created, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await tasker.runScheduleNow(request.params.name)),
  );
};
