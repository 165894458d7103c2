// Delayed tasks: no step of a task created with runAt or delayMs starts before its time, a running worker
// wakes for it without the fallback poll, and bad delays are refused naming the field, creating nothing.
import { describe, expect, test } from 'vitest';
import { defineTask, isTaskerError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('delayed tasks on %s', (backend) => {
  test('the first step starts at runAt / after delayMs, with the fallback poll turned off', async () => {
    const { tasker } = await testTasker(backend, { execution: { pollIntervalMs: 600_000 } });
    const started = new Map<number, number>();
    tasker.register(
      defineTask({
        name: 'later',
        steps: [
          {
            name: 'first',
            handler: ({ task }) => {
              started.set(task.id, Date.now());
              return { ok: true };
            },
          },
          { name: 'second', dependsOn: ['first'], handler: () => ({ ok: true }) },
        ],
      }),
    );
    await tasker.startWorker();
    // The worker is idle and sleeping when the delayed tasks arrive.
    await new Promise((r) => setTimeout(r, 300));
    const createdAt = Date.now();
    const runAt = new Date(createdAt + 1500);
    const now = await tasker.createTask({ name: 'later' });
    const byTime = await tasker.createTask({ name: 'later', runAt });
    const byDelay = await tasker.createTask({ name: 'later', delayMs: 800 });

    expect((await tasker.waitForTask(now.id, { timeoutMs: 10_000 })).state).toBe('complete');
    const waiting = await tasker.getTask(byTime.id);
    expect(waiting.state).toBe('pending');
    expect(waiting.runAt?.getTime()).toBe(runAt.getTime());
    expect(waiting.steps.every((s) => s.state === 'pending')).toBe(true);

    for (const id of [byTime.id, byDelay.id]) {
      expect((await tasker.waitForTask(id, { timeoutMs: 15_000 })).state).toBe('complete');
    }
    // Database and process clocks are the same machine's here; allow a few ms of rounding.
    expect(started.get(byTime.id)!).toBeGreaterThanOrEqual(runAt.getTime() - 5);
    expect(started.get(byDelay.id)!).toBeGreaterThanOrEqual(createdAt + 800 - 5);
    // Woken by its time, not by the 10-minute poll.
    expect(started.get(byTime.id)! - runAt.getTime()).toBeLessThan(5000);
    expect((await tasker.getTask(now.id)).runAt).toBeNull();
  });

  test('a runAt in the past runs at once; bad delays are refused naming the field, creating nothing', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(defineTask({ name: 'later', steps: [{ name: 'only', handler: () => 1 }] }));
    await tasker.startWorker();
    const past = await tasker.createTask({ name: 'later', runAt: '2020-01-01T00:00:00Z' });
    expect((await tasker.waitForTask(past.id, { timeoutMs: 10_000 })).state).toBe('complete');

    const refused = async (request: Parameters<typeof tasker.createTask>[0], field: RegExp) => {
      const error = await tasker.createTask(request).catch((e: unknown) => e);
      expect(isTaskerError(error) && error.code).toBe('TASKER_INVALID_REQUEST');
      expect((error as Error).message).toMatch(field);
    };
    await refused({ name: 'later', delayMs: -1 }, /delayMs/);
    await refused({ name: 'later', delayMs: 400 * 24 * 3600 * 1000 }, /delayMs/);
    await refused({ name: 'later', runAt: 'tomorrow' }, /runAt/);
    await refused({ name: 'later', runAt: new Date(Date.now() + 1000), delayMs: 5 }, /runAt or delayMs/);
    const page = await tasker.listTasks({});
    expect(page.tasks.map((t) => t.id)).toEqual([past.id]);
  });
});
