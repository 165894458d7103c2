/**
 * HTTP routes for metrics and analytics, registered on the API server's Fastify instance (or any other):
 *
 *   GET {prefix}/metrics                 Prometheus text of the Tasker's registry
 *   GET {prefix}/analytics/performance   ?period=<hours, default 1>: analytics metrics + system health counts
 *   GET {prefix}/analytics/bottlenecks   ?period=<hours, default 24>&limit&namespace&name&version:
 *                                        slowest steps and tasks
 *   GET {prefix}/analytics/throughput    ?period=<hours, default 24>: finished tasks per time bucket
 *                                        (complete, failed, cancelled)
 *   GET {prefix}/analytics/step-durations ?period=<hours, default 1>&namespace&name&step: successful
 *                                        step attempts per power-of-two duration bucket
 *
 * Analytics answers are cached for `analyticsCacheMs` (default 15 s) per query: dashboards polling them
 * cost one set of queries per interval, whatever the number of viewers.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DependencyAnalysis, DependencyAnalysisOptions } from '../analysis/task-dependencies.js';
import { isTaskerError, TaskerError } from '../errors.js';
import type { Tasker } from '../tasker.js';

export interface ObservabilityRouteOptions {
  /** Prefix of the routes, e.g. '/tasker'. @defaultValue '' */
  readonly prefix?: string;
  /** How long analytics answers are reused. 0 disables the cache. @defaultValue 15000 */
  readonly analyticsCacheMs?: number;
  /**
   * Rethrow errors to the app's error handler (the API server answers with problem details) instead of
   * answering `{ error: { code, message } }` here. @defaultValue false
   */
  readonly rethrowErrors?: boolean;
}

const MAX_PERIOD_HOURS = 24 * 90;

function hours(value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_PERIOD_HOURS) {
    throw new TaskerError(
      'TASKER_INVALID_REQUEST',
      `period must be a number of hours above 0 and at most ${MAX_PERIOD_HOURS}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function limitOf(value: unknown): number {
  if (value === undefined || value === '') return 10;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new TaskerError(
      'TASKER_INVALID_REQUEST',
      `limit must be an integer from 1 to 100, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 128) {
    throw new TaskerError('TASKER_INVALID_REQUEST', `${field} must be a string of at most 128 characters`);
  }
  return value;
}

function sendError(reply: FastifyReply, error: unknown, rethrow: boolean): FastifyReply {
  if (isTaskerError(error) && !rethrow) {
    return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
  }
  throw error;
}

/** A task's dependency analysis, for the API's task endpoint (`include_dependencies`). */
export function taskDependencyAnalysis(
  tasker: Tasker,
  taskId: number,
  options?: DependencyAnalysisOptions,
): Promise<DependencyAnalysis> {
  return tasker.analyzeTask(taskId, options);
}

export function registerObservabilityRoutes(
  app: FastifyInstance,
  tasker: Tasker,
  options: ObservabilityRouteOptions = {},
): void {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const cacheMs = options.analyticsCacheMs ?? 15_000;
  if (!Number.isInteger(cacheMs) || cacheMs < 0) {
    throw new TaskerError(
      'TASKER_INVALID_CONFIG',
      `analyticsCacheMs must be an integer >= 0, got ${cacheMs}`,
    );
  }
  const cache = new Map<string, { expires: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) return hit.value as Promise<T>;
    for (const [k, v] of cache) if (v.expires <= now) cache.delete(k);
    const value = compute();
    if (cacheMs > 0) {
      cache.set(key, { expires: now + cacheMs, value });
      value.catch(() => cache.delete(key)); // never serve a failure from the cache
    }
    return value;
  };

  app.get(
    `${prefix}/metrics`,
    { config: { permission: 'tasker.metrics:index' } },
    async (_request, reply) => {
      const metrics = tasker.telemetry.metrics;
      if (!metrics) {
        if (options.rethrowErrors) {
          throw new TaskerError('TASKER_FEATURE_DISABLED', 'metrics are turned off (telemetry options)');
        }
        return reply.code(404).send({
          error: { code: 'TASKER_INVALID_REQUEST', message: 'metrics are turned off (telemetry options)' },
        });
      }
      const body = await metrics.text();
      return reply.header('content-type', metrics.registry.contentType).send(body);
    },
  );

  app.get(
    `${prefix}/analytics/performance`,
    { config: { permission: 'tasker.analytics:index' } },
    async (request, reply) => {
      try {
        const query = (request.query ?? {}) as Record<string, unknown>;
        const period = hours(query.period, 1);
        return await cached(`performance:${period}`, async () => {
          const since = new Date(Date.now() - period * 3600_000);
          const [metrics, health] = await Promise.all([
            tasker.analyticsMetrics({ since }),
            tasker.systemHealthCounts(),
          ]);
          return { periodHours: period, metrics, health };
        });
      } catch (error) {
        return sendError(reply, error, options.rethrowErrors === true);
      }
    },
  );

  app.get(
    `${prefix}/analytics/bottlenecks`,
    { config: { permission: 'tasker.analytics:index' } },
    async (request, reply) => {
      try {
        const query = (request.query ?? {}) as Record<string, unknown>;
        const period = hours(query.period, 24);
        const filter = {
          limit: limitOf(query.limit),
          namespace: text(query.namespace, 'namespace'),
          name: text(query.name, 'name'),
          version: text(query.version, 'version'),
        };
        return await cached(`bottlenecks:${period}:${JSON.stringify(filter)}`, async () => {
          const since = new Date(Date.now() - period * 3600_000);
          const [slowestSteps, slowestTasks] = await Promise.all([
            tasker.slowestSteps({ ...filter, since }),
            tasker.slowestTasks({ ...filter, since }),
          ]);
          return { periodHours: period, filter, slowestSteps, slowestTasks };
        });
      } catch (error) {
        return sendError(reply, error, options.rethrowErrors === true);
      }
    },
  );

  app.get(
    `${prefix}/analytics/throughput`,
    { config: { permission: 'tasker.analytics:index' } },
    async (request, reply) => {
      try {
        const query = (request.query ?? {}) as Record<string, unknown>;
        const period = hours(query.period, 24);
        const bucketMs = bucketFor(period * 3600_000);
        return await cached(`throughput:${period}`, async () => {
          // Buckets on the clock (aligned to bucketMs), from the one holding `since`.
          const since = new Date(Math.floor((Date.now() - period * 3600_000) / bucketMs) * bucketMs);
          const buckets = await tasker.throughputSeries({ since, bucketMs });
          return { periodHours: period, bucketMs, since, buckets };
        });
      } catch (error) {
        return sendError(reply, error, options.rethrowErrors === true);
      }
    },
  );

  app.get(
    `${prefix}/analytics/step-durations`,
    { config: { permission: 'tasker.analytics:index' } },
    async (request, reply) => {
      try {
        const query = (request.query ?? {}) as Record<string, unknown>;
        const period = hours(query.period, 1);
        const filter = {
          namespace: text(query.namespace, 'namespace'),
          name: text(query.name, 'name'),
          step: text(query.step, 'step'),
        };
        return await cached(`step-durations:${period}:${JSON.stringify(filter)}`, async () => {
          const since = new Date(Date.now() - period * 3600_000);
          const buckets = await tasker.stepDurationHistogram({ since, ...definedOf(filter) });
          return { periodHours: period, filter, buckets };
        });
      } catch (error) {
        return sendError(reply, error, options.rethrowErrors === true);
      }
    },
  );
}

/** A bucket size that gives 30 to 120 buckets over the window, on a round clock size. */
function bucketFor(windowMs: number): number {
  const sizes = [
    10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 86_400_000,
  ];
  return sizes.find((size) => windowMs / size <= 120) ?? 86_400_000;
}

function definedOf<T extends Record<string, string | undefined>>(value: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: string;
  };
}
