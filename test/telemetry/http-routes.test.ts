import Fastify from 'fastify';
import { describe, expect, test } from 'vitest';
import { registerObservabilityRoutes } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';
import { billing } from './workflows.js';

describe.each(BACKENDS)('observability routes (%s)', (backend) => {
  test('metrics, performance and bottlenecks over HTTP, with caching and input checks', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(billing);
    await tasker.startWorker();
    const task = await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await tasker.waitForTask(task.id);

    const app = Fastify();
    registerObservabilityRoutes(app, tasker, { prefix: '/tasker/', analyticsCacheMs: 60_000 });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const metrics = await fetch(`${base}/tasker/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toMatch(
        /tasker_tasks_created_total\{namespace="billing",name="charge",version="2.1.0"\} 1/,
      );

      const perf = await fetch(`${base}/tasker/analytics/performance?period=2`);
      expect(perf.status).toBe(200);
      const body = (await perf.json()) as {
        periodHours: number;
        metrics: { taskThroughput: number; calculatedAt: string };
      };
      expect(body.periodHours).toBe(2);
      expect(body.metrics.taskThroughput).toBe(1);

      // Within the cache time the same answer comes back, even though a task was added.
      await tasker.createTask({ namespace: 'billing', name: 'charge' });
      const again = (await (
        await fetch(`${base}/tasker/analytics/performance?period=2`)
      ).json()) as typeof body;
      expect(again.metrics.calculatedAt).toBe(body.metrics.calculatedAt);
      expect(again.metrics.taskThroughput).toBe(1);
      // Another query is computed afresh.
      const fresh = (await (
        await fetch(`${base}/tasker/analytics/performance?period=3`)
      ).json()) as typeof body;
      expect(fresh.metrics.taskThroughput).toBe(2);

      const bottlenecks = await fetch(`${base}/tasker/analytics/bottlenecks?namespace=billing&limit=1`);
      expect(bottlenecks.status).toBe(200);
      const b = (await bottlenecks.json()) as {
        slowestSteps: unknown[];
        slowestTasks: Array<{ taskId: number }>;
      };
      expect(b.slowestSteps).toHaveLength(1);
      expect(b.slowestTasks.map((t) => t.taskId)).toEqual([task.id]);

      const bad = await fetch(`${base}/tasker/analytics/bottlenecks?period=-1`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({
        error: { code: 'TASKER_INVALID_REQUEST', message: expect.stringMatching(/period/) },
      });
      const badLimit = await fetch(`${base}/tasker/analytics/bottlenecks?limit=abc`);
      expect(badLimit.status).toBe(400);
    } finally {
      await app.close();
    }
  });

  test('metrics turned off answer 404', async () => {
    const { tasker } = await testTasker(backend, { telemetry: { enabled: false } });
    const app = Fastify();
    registerObservabilityRoutes(app, tasker);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
