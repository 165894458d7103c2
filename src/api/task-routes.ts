/** REST routes of tasks: list, create (one or many), show, update, cancel, retry, transitions, audit. */
import { analyzeTask } from '../analysis/task-dependencies.js';
import {
  type CreateTaskRequest,
  type ListTasksQuery,
  listTasksQuerySchema,
  MAX_BULK_TASKS,
  type TaskUpdate,
  taskUpdateSchema,
  wireJsonSchema,
} from '../model/contracts.js';

import type { RouteModule } from './context.js';
import { toId } from './context.js';
import { idParam, itemsOf, problemResponses, reasonBody } from './schemas.js';

const params = { type: 'object', properties: { id: idParam }, required: ['id'] } as const;

const listQuery = wireJsonSchema(listTasksQuerySchema);

export const taskRoutes: RouteModule = (app, { tasker }) => {
  const withCorrelation = (
    request: CreateTaskRequest,
    correlationId: string,
    traceparent: string | null,
  ): CreateTaskRequest => ({
    ...request,
    correlationId: request.correlationId ?? correlationId,
    // The request's own span (when tracing is on) is the parent of the task's.
    ...(request.traceparent == null && traceparent ? { traceparent } : {}),
  });

  app.get<{ Querystring: ListTasksQuery }>(
    '/tasks',
    {
      config: { permission: 'tasker.task:index' },
      schema: {
        tags: ['tasks'],
        summary:
          'List tasks (filters, stable cursor pagination; tier: active, recent, archived, all; default active and recent)',
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: { $ref: 'Task#' } },
              nextCursor: { type: ['string', 'null'] },
            },
            required: ['items', 'nextCursor'],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await tasker.listTasks({
        state: q.state && q.state.length > 0 ? q.state : undefined,
        ...(q.tier && q.tier.length > 0 ? { tier: q.tier } : {}),
        namespace: q.namespace,
        name: q.name,
        version: q.version,
        tag: q.tag,
        parentTaskId: q.parentTaskId,
        createdAfter: q.createdAfter,
        createdBefore: q.createdBefore,
        order: q.sort === 'createdAt' ? 'asc' : 'desc',
        limit: q.limit,
        cursor: q.cursor,
      });
      return { items: page.tasks, nextCursor: page.nextCursor };
    },
  );

  app.post<{ Body: CreateTaskRequest }>(
    '/tasks',
    {
      config: { permission: 'tasker.task:create' },
      schema: {
        tags: ['tasks'],
        summary:
          "Create a task (201; a duplicate request gets 200 with the existing task, or 409 TASKER_DUPLICATE_TASK naming it under the template's strict identity strategy)",
        body: { $ref: 'CreateTaskRequest#' },
        response: { 200: { $ref: 'Task#' }, 201: { $ref: 'Task#' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await tasker.createTask(
        withCorrelation(request.body, request.correlationId, request.traceparent),
      );
      const task = await tasker.getTaskSummary(created.id);
      return reply.code(created.created ? 201 : 200).send(task);
    },
  );

  app.post<{ Body: { tasks: CreateTaskRequest[] } }>(
    '/tasks/bulk',
    {
      config: { permission: 'tasker.task:create' },
      schema: {
        tags: ['tasks'],
        summary: 'Create many tasks in one transaction (all or nothing)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['tasks'],
          properties: {
            tasks: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BULK_TASKS,
              items: { $ref: 'CreateTaskRequest#' },
            },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    namespace: { type: 'string' },
                    name: { type: 'string' },
                    version: { type: 'string' },
                    state: { type: 'string' },
                    created: { type: 'boolean' },
                  },
                },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const items = await tasker.createTasks(
        request.body.tasks.map((t) => withCorrelation(t, request.correlationId, request.traceparent)),
      );
      return reply.code(201).send({ items });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { include?: 'dependencies' } }>(
    '/tasks/:id',
    {
      config: { permission: 'tasker.task:show' },
      schema: {
        tags: ['tasks'],
        summary: 'A task with its steps (include=dependencies adds the dependency analysis)',
        params,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { include: { type: 'string', enum: ['dependencies'] } },
        },
        response: { 200: { $ref: 'TaskWithSteps#' }, ...problemResponses },
      },
    },
    async (request) => {
      const id = toId(request.params.id);
      const task = await tasker.getTask(id);
      if (request.query.include !== 'dependencies') return task;
      // The analysis is pure: it works on the task already loaded (levels included), so the only other
      // read is the execution context (of live rows: an archived task, finished for good, has none).
      const executionContext = task.archivedAt ? undefined : await tasker.executionContext(id);
      const analysis = analyzeTask(task, { weights: tasker.telemetry.config.bottleneckWeights });
      const levels = new Map(analysis.levels.map((l) => [l.stepId, l.level]));
      const named = task.steps.map((s) => ({ stepId: s.id, name: s.name, level: levels.get(s.id) ?? 0 }));
      const executionOrder: string[][] = [];
      for (const entry of named) {
        while (executionOrder.length <= entry.level) executionOrder.push([]);
        executionOrder[entry.level]!.push(entry.name);
      }
      const { criticalPath, bottlenecks, parallelism } = analysis;
      return {
        ...task,
        dependencies: {
          levels: named,
          executionOrder,
          ...(executionContext ? { executionContext } : {}),
          criticalPath,
          bottlenecks,
          parallelism,
        },
      };
    },
  );

  app.patch<{ Params: { id: string }; Body: TaskUpdate }>(
    '/tasks/:id',
    {
      config: { permission: 'tasker.task:update' },
      schema: {
        tags: ['tasks'],
        summary: "Change a task's reason and/or tags",
        params,
        body: { ...wireJsonSchema(taskUpdateSchema), minProperties: 1 },
        response: { 200: { $ref: 'Task#' }, ...problemResponses },
      },
    },
    async (request) => {
      const id = toId(request.params.id);
      await tasker.updateTask(id, request.body);
      return tasker.getTaskSummary(id);
    },
  );

  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } }>(
      `/tasks/:id/${action}`,
      {
        config: { permission: `tasker.task:${action}` },
        schema: {
          tags: ['tasks'],
          summary: action === 'cancel' ? 'Cancel a task' : 'Retry a task in error',
          params,
          body: reasonBody,
          response: { 200: { $ref: 'Task#' }, ...problemResponses },
        },
      },
      async (request) => {
        const id = toId(request.params.id);
        const reason = request.body.reason;
        if (action === 'cancel') await tasker.cancelTask(id, { reason });
        else await tasker.retryTask(id, { reason });
        return tasker.getTaskSummary(id);
      },
    );
  }

  app.post<{ Params: { id: string; name: string }; Body: { payload?: unknown } | undefined }>(
    '/tasks/:id/signals/:name',
    {
      // A signal moves a task on, as an update does.
      config: { permission: 'tasker.task:update' },
      schema: {
        tags: ['tasks'],
        summary: 'Send a named signal to a task (docs/workflows.md#durable-waits)',
        params: {
          type: 'object',
          properties: {
            id: params.properties.id,
            name: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'The signal name' },
          },
          required: ['id', 'name'],
        },
        body: {
          type: 'object',
          properties: { payload: { description: 'Any JSON; the waiting step returns it' } },
          additionalProperties: false,
        },
        response: {
          202: {
            type: 'object',
            properties: {
              signalId: { type: 'integer' },
              taskId: { type: 'integer' },
              name: { type: 'string' },
            },
            required: ['signalId', 'taskId', 'name'],
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const id = toId(request.params.id);
      const { signalId } = await tasker.signal(id, request.params.name, request.body?.payload);
      return reply.code(202).send({ signalId, taskId: id, name: request.params.name });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/tasks/:id/transitions',
    {
      config: { permission: 'tasker.task:show' },
      schema: {
        tags: ['tasks'],
        summary: "A task's own transitions",
        params,
        response: { 200: itemsOf('TaskTransition'), ...problemResponses },
      },
    },
    async (request) => ({ items: await tasker.getTaskTransitions(toId(request.params.id)) }),
  );

  app.get<{ Params: { id: string } }>(
    '/tasks/:id/audit',
    {
      config: { permission: 'tasker.task:show' },
      schema: {
        tags: ['tasks'],
        summary: 'The whole audit trail of a task (its transitions and its steps), in time order',
        params,
        response: { 200: itemsOf('AuditEntry'), ...problemResponses },
      },
    },
    async (request) => ({ items: await tasker.getAuditTrail(toId(request.params.id)) }),
  );
};
