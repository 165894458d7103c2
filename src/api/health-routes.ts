/**
 * Health: liveness (the process serves), readiness (database reachable within a timeout, migrations
 * current, templates registered; 503 with the failing checks), and status (counts, the step queue, pool,
 * live workers).
 */
import { describeDatabase } from '../db/describe-database.js';
import { migrationStatus } from '../db/migrate.js';
import { countByState, liveWorkers, stepQueue } from '../engine/sql/status-queries.js';
import type { RouteModule } from './context.js';
import { problemResponses } from './schemas.js';

interface Check {
  status: 'ok' | 'fail';
  detail?: string;
  [key: string]: unknown;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const checkSchema = {
  type: 'object',
  additionalProperties: true,
  properties: { status: { type: 'string' } },
};

export const healthRoutes: RouteModule = (app, { tasker, options, sql }) => {
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: 200 while the process serves requests',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, migrations current, templates registered (503 otherwise)',
        response: {
          '2xx': {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: { type: 'object', additionalProperties: checkSchema },
            },
          },
          503: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: { type: 'object', additionalProperties: checkSchema },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const timeoutMs = options.health.readinessTimeoutMs;
      const checks: Record<string, Check> = {};
      const started = performance.now();
      try {
        await withTimeout(tasker.database.query('SELECT 1'), timeoutMs, 'the database');
        checks.database = { status: 'ok', latencyMs: Math.round(performance.now() - started) };
        const m = await withTimeout(
          migrationStatus(tasker.database, tasker.config.database.schema),
          timeoutMs,
          'the database',
        );
        checks.migrations =
          m.pending === 0 && m.current === m.latest
            ? { status: 'ok', current: m.current, latest: m.latest }
            : {
                status: 'fail',
                current: m.current,
                latest: m.latest,
                detail: `schema is at migration ${m.current}, expected ${m.latest}`,
              };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness: database check failed');
        checks.database = {
          status: 'fail',
          detail:
            error instanceof Error && /did not answer/.test(error.message)
              ? error.message
              : 'the database is not reachable',
        };
        checks.migrations = { status: 'fail', detail: 'unknown: the database is not reachable' };
      }
      const templates = tasker.templates().length;
      checks.registry =
        templates > 0 || !options.health.requireTemplates
          ? { status: 'ok', templates }
          : { status: 'fail', templates, detail: 'no task templates are registered' };
      const ready = Object.values(checks).every((c) => c.status === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'fail', checks });
    },
  );

  app.get(
    '/health/status',
    {
      config: options.auth.statusRequiresAuth ? { permission: 'tasker.health_status:index' } : {},
      schema: {
        tags: ['health'],
        summary: 'Status: tasks and steps by state, live workers, the database in use, connection pool',
        response: {
          200: {
            type: 'object',
            properties: {
              tasks: {
                type: 'object',
                properties: { byState: { type: 'object', additionalProperties: { type: 'integer' } } },
              },
              steps: {
                type: 'object',
                properties: { byState: { type: 'object', additionalProperties: { type: 'integer' } } },
              },
              queue: {
                type: 'object',
                description:
                  'Unfinished steps by what they wait for; steps of finished tasks never count as waiting',
                properties: {
                  ready: { type: 'integer', description: 'claimable now' },
                  waitingForRetry: { type: 'integer', description: "waiting out a retry's backoff" },
                  waitingForParents: { type: 'integer', description: 'their parents are still to finish' },
                  running: { type: 'integer' },
                  blocked: {
                    type: 'integer',
                    description:
                      'below a step that failed for good: they run only if it is retried or resolved',
                  },
                },
              },
              workers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    hostname: { type: ['string', 'null'] },
                    pid: { type: ['integer', 'null'] },
                    concurrency: { type: 'integer' },
                    namespaces: { type: ['array', 'null'], items: { type: 'string' } },
                    startedAt: { type: 'string', format: 'date-time' },
                    lastHeartbeatAt: { type: 'string', format: 'date-time' },
                  },
                },
              },
              database: {
                type: 'object',
                description:
                  'Which database this process uses (never its password): the same text as the start-up line of tasker serve',
                properties: {
                  kind: { type: 'string', enum: ['postgres', 'pglite'] },
                  text: { type: 'string' },
                  schema: { type: 'string' },
                  host: { type: 'string' },
                  port: { type: 'integer' },
                  database: { type: 'string' },
                  user: { type: 'string' },
                  dataDir: { type: ['string', 'null'] },
                  sharing: {
                    type: 'object',
                    properties: {
                      role: { type: 'string', enum: ['owner', 'client'] },
                      socket: { type: ['string', 'null'] },
                      ownerPid: { type: 'integer' },
                      ownerCommand: { type: 'string' },
                    },
                  },
                },
              },
              pool: {
                type: 'object',
                properties: {
                  kind: { type: 'string' },
                  max: { type: 'integer' },
                  total: { type: 'integer' },
                  idle: { type: 'integer' },
                  waiting: { type: 'integer' },
                },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async () => {
      const [{ tasks, steps }, queue, workers] = await Promise.all([
        countByState(sql),
        stepQueue(sql),
        liveWorkers(sql),
      ]);
      return {
        tasks: { byState: tasks },
        steps: { byState: steps },
        queue,
        workers,
        database: describeDatabase(tasker.config.database, tasker.database.sharing),
        pool: {
          kind: tasker.database.kind,
          max: tasker.database.maxConnections,
          ...tasker.database.poolStats(),
        },
      };
    },
  );
};
