import { describe, expect, test } from 'vitest';
import { type CreatedTask, defineTask, PermanentError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const slowAndFast = defineTask({
  namespace: 'reports',
  name: 'monthly',
  version: '1.0.0',
  contextSchema: { type: 'object', properties: { fail: { type: 'boolean' } } },
  steps: [
    { name: 'fast', handler: () => 1 },
    {
      name: 'slow',
      dependsOn: ['fast'],
      handler: async (ctx) => {
        if (ctx.context.fail) throw new PermanentError('broken input');
        await new Promise((r) => setTimeout(r, 150));
        return 2;
      },
    },
  ],
});

const other = defineTask({ namespace: 'other', name: 'noop', steps: [{ name: 'only', handler: () => 0 }] });

describe.each(BACKENDS)('analytics (%s)', (backend) => {
  test('health counts, window metrics, slowest steps and tasks, dependency analysis, live workers', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(slowAndFast);
    tasker.register(other);
    const worker = await tasker.startWorker({ concurrency: 4 });
    // In one call: a lone createTask leases its first step in the creating round trip, and on PGlite (one
    // connection) that step's outcome would then wait behind the next createTask calls, timed as its run.
    const [ok1, ok2, bad, noop] = (await tasker.createTasks([
      { namespace: 'reports', name: 'monthly' },
      { namespace: 'reports', name: 'monthly' },
      { namespace: 'reports', name: 'monthly', context: { fail: true } },
      { namespace: 'other', name: 'noop' },
    ])) as [CreatedTask, CreatedTask, CreatedTask, CreatedTask];
    for (const t of [ok1, ok2, bad, noop]) await tasker.waitForTask(t.id);

    const health = await tasker.systemHealthCounts();
    expect(health.tasks).toMatchObject({ total: 4, complete: 3, error: 1, pending: 0, inProgress: 0 });
    expect(health.steps).toMatchObject({ total: 7, complete: 6, error: 1 });
    expect(health.exhaustedRetrySteps).toBe(0); // a permanent error, not exhausted retries
    expect(health.liveWorkers).toBe(1);
    expect(health.maxConnections).toBeGreaterThan(0);

    const m = await tasker.analyticsMetrics();
    expect(m).toMatchObject({
      activeTasksCount: 0,
      totalNamespacesCount: 2,
      uniqueTaskTypesCount: 2,
      taskThroughput: 4,
      completionCount: 3,
      errorCount: 1,
      completionRate: 0.75,
      errorRate: 0.25,
      stepThroughput: 6,
      // 0.7 × 0.75 + 0.3 × (1 − 0.25)
      systemHealthScore: 0.75,
    });
    expect(m.avgTaskDuration).toBeGreaterThan(0);
    // A window starting now holds nothing.
    const empty = await tasker.analyticsMetrics({ since: new Date(Date.now() + 60_000) });
    expect(empty).toMatchObject({ taskThroughput: 0, completionRate: 0, systemHealthScore: 1 });

    const slowest = await tasker.slowestSteps({ limit: 2 });
    expect(slowest.map((s) => s.stepName)).toEqual(['slow', 'slow']);
    expect(slowest[0]!.durationSeconds).toBeGreaterThanOrEqual(slowest[1]!.durationSeconds);
    expect(slowest[0]!.durationSeconds).toBeGreaterThanOrEqual(0.15);
    const onlyOther = await tasker.slowestSteps({ namespace: 'other' });
    expect(onlyOther.map((s) => s.stepName)).toEqual(['only']);
    expect(await tasker.slowestSteps({ namespace: 'reports', version: '9.9.9' })).toEqual([]);

    const tasks = await tasker.slowestTasks({ name: 'monthly' });
    expect(tasks.map((t) => t.taskId).sort()).toEqual([ok1.id, ok2.id, bad.id].sort());
    expect(tasks.find((t) => t.taskId === bad.id)).toMatchObject({
      state: 'error',
      failedSteps: 1,
      stepCount: 2,
    });
    await expect(tasker.slowestTasks({ limit: 0 })).rejects.toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      message: expect.stringMatching(/limit/),
    });

    const analysis = await tasker.analyzeTask(bad.id);
    expect(analysis.criticalPath.steps).toEqual(['fast', 'slow']);
    expect(analysis.bottlenecks[0]).toMatchObject({ name: 'slow', state: 'error' });
    expect(analysis.levels.map((l) => l.level)).toEqual([0, 1]);
    await expect(tasker.analyzeTask(999_999)).rejects.toMatchObject({ code: 'TASKER_TASK_NOT_FOUND' });

    const workers = await tasker.liveWorkers();
    expect(workers.map((w) => w.id)).toEqual([worker.id]);
    expect(workers[0]!.lastHeartbeatAt).toBeInstanceOf(Date);
    await worker.stop();
    expect(await tasker.liveWorkers()).toEqual([]);
  });
});
