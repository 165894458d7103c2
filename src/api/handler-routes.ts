/** REST routes of the registered task templates ("handlers"), with each template's dependency graph. */
import { templateGraph } from '../analysis/template-graph.js';
import type { TaskTemplate } from '../definitions/types.js';
import { STEP_KINDS } from '../model/step-kinds.js';
import type { RouteModule } from './context.js';
import { HttpProblem } from './problems.js';
import { problemResponses } from './schemas.js';

const summary = (t: TaskTemplate) => ({ name: t.name, version: t.version, description: t.description });
const templateSummary = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    description: { type: ['string', 'null'] },
  },
  required: ['name', 'version', 'description'],
} as const;
const namespaceSchema = {
  type: 'object',
  properties: { namespace: { type: 'string' }, templates: { type: 'array', items: templateSummary } },
  required: ['namespace', 'templates'],
} as const;
const segment = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const handlerRoutes: RouteModule = (app, { tasker }) => {
  const byNamespace = () => {
    const groups = new Map<string, TaskTemplate[]>();
    for (const t of tasker.templates()) groups.set(t.namespace, [...(groups.get(t.namespace) ?? []), t]);
    return [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([namespace, templates]) => ({ namespace, templates: templates.map(summary) }));
  };

  app.get(
    '/handlers',
    {
      config: { permission: 'tasker.handler:index' },
      schema: {
        tags: ['handlers'],
        summary: 'Registered task templates by namespace',
        response: {
          200: {
            type: 'object',
            properties: { namespaces: { type: 'array', items: namespaceSchema } },
            required: ['namespaces'],
          },
          ...problemResponses,
        },
      },
    },
    async () => ({ namespaces: byNamespace() }),
  );

  app.get<{ Params: { namespace: string } }>(
    '/handlers/:namespace',
    {
      config: { permission: 'tasker.handler:index' },
      schema: {
        tags: ['handlers'],
        summary: 'The templates of one namespace',
        params: { type: 'object', properties: { namespace: segment }, required: ['namespace'] },
        response: { 200: namespaceSchema, ...problemResponses },
      },
    },
    async (request) => {
      const found = byNamespace().find((n) => n.namespace === request.params.namespace);
      if (!found) {
        throw new HttpProblem(
          404,
          'TASKER_UNKNOWN_NAMESPACE',
          `no templates in namespace "${request.params.namespace}"`,
        );
      }
      return found;
    },
  );

  app.get<{ Params: { namespace: string; name: string }; Querystring: { version?: string } }>(
    '/handlers/:namespace/:name',
    {
      config: { permission: 'tasker.handler:show' },
      schema: {
        tags: ['handlers'],
        summary: 'One template (latest version unless ?version=) with its dependency graph',
        params: {
          type: 'object',
          properties: { namespace: segment, name: segment },
          required: ['namespace', 'name'],
        },
        querystring: { type: 'object', additionalProperties: false, properties: { version: segment } },
        response: {
          200: {
            type: 'object',
            properties: {
              namespace: { type: 'string' },
              name: { type: 'string' },
              version: { type: 'string' },
              description: { type: ['string', 'null'] },
              contextSchema: { type: ['object', 'null'], additionalProperties: true },
              steps: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    dependsOn: { type: 'array', items: { type: 'string' } },
                    retryable: { type: 'boolean' },
                    retryLimit: { type: 'integer' },
                    timeoutMs: { type: ['integer', 'null'] },
                    skippable: { type: 'boolean' },
                    kind: {
                      type: 'string',
                      enum: [...STEP_KINDS],
                      description: 'step, decision, sleep, signal, subtask, batch or compensation',
                    },
                    undo: { type: ['string', 'null'], description: 'The compensation step that undoes it' },
                  },
                  required: [
                    'name',
                    'dependsOn',
                    'retryable',
                    'retryLimit',
                    'timeoutMs',
                    'skippable',
                    'kind',
                    'undo',
                  ],
                },
              },
              graph: {
                type: 'object',
                properties: {
                  nodes: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { id: { type: 'string' }, level: { type: 'integer' } },
                      required: ['id', 'level'],
                    },
                  },
                  edges: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { from: { type: 'string' }, to: { type: 'string' } },
                      required: ['from', 'to'],
                    },
                  },
                  executionOrder: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
                },
                required: ['nodes', 'edges', 'executionOrder'],
              },
              onFailure: {
                type: ['string', 'null'],
                description: 'The compensation step run when a task fails',
              },
            },
            required: [
              'namespace',
              'name',
              'version',
              'description',
              'contextSchema',
              'steps',
              'graph',
              'onFailure',
            ],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const t = tasker.template(request.params.namespace, request.params.name, request.query.version);
      return {
        namespace: t.namespace,
        name: t.name,
        version: t.version,
        description: t.description,
        contextSchema: t.contextSchema,
        steps: t.steps.map((s) => ({
          name: s.name,
          dependsOn: s.dependsOn,
          retryable: s.retryable,
          retryLimit: s.retryLimit,
          timeoutMs: s.timeoutMs,
          skippable: s.skippable,
          kind: s.kind,
          undo: s.undo,
        })),
        graph: templateGraph(t.steps),
        onFailure: t.onFailure,
      };
    },
  );
};
