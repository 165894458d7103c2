/** Server-sent event streams: all tasks, or one task. */
import type { RouteModule } from './context.js';
import { toId } from './context.js';
import type { LiveUpdates } from './live-updates.js';
import { streamEvents } from './live-updates.js';
import { idParam } from './schemas.js';

const tokenQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { access_token: { type: 'string', maxLength: 8192 } },
} as const;

const description =
  'Server-sent events: `task` {id, state, namespace, name, version}, `step` {id, taskId, name, state}, and ' +
  '`resync` when notifications may have been missed (reload). When auth is on the token may be passed as ?access_token=.';

export function eventRoutes(live: LiveUpdates): RouteModule {
  return (app, { options, tasker }) => {
    const headers = (correlationId: string) => ({
      [options.correlationIdHeader.toLowerCase()]: correlationId,
    });
    app.get(
      '/events',
      {
        config: { permission: 'tasker.task:index', queryToken: true },
        schema: {
          tags: ['events'],
          summary: 'Live updates of all tasks',
          description,
          querystring: tokenQuery,
        },
      },
      async (request, reply) => {
        await streamEvents(live, request, reply, null, {
          heartbeatMs: options.sseHeartbeatMs,
          headers: headers(request.correlationId),
        });
      },
    );
    app.get<{ Params: { id: string } }>(
      '/tasks/:id/events',
      {
        config: { permission: 'tasker.task:show', queryToken: true },
        schema: {
          tags: ['events'],
          summary: 'Live updates of one task',
          description,
          params: { type: 'object', properties: { id: idParam }, required: ['id'] },
          querystring: tokenQuery,
        },
      },
      async (request, reply) => {
        const id = toId(request.params.id);
        await tasker.getTask(id); // 404 for an unknown task
        await streamEvents(live, request, reply, id, {
          heartbeatMs: options.sseHeartbeatMs,
          headers: headers(request.correlationId),
        });
      },
    );
  };
}
