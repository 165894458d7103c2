// A worker wakes for every retry it scheduled, not only the earliest: with the fallback poll turned off,
// two retries due at different times must both run.
import { describe, expect, test } from 'vitest';
import { defineTask, RetryableError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('retry wake-ups on %s', (backend) => {
  test('retries due at different times all run without the fallback poll', async () => {
    const { tasker } = await testTasker(backend, { execution: { pollIntervalMs: 600_000 } });
    const seen = new Map<number, number>();
    tasker.register(
      defineTask({
        name: 'retry_later',
        contextSchema: { type: 'object', properties: { delayMs: { type: 'integer' } } },
        steps: [
          {
            name: 'once_more',
            handler: ({ context, task }) => {
              const attempts = (seen.get(task.id) ?? 0) + 1;
              seen.set(task.id, attempts);
              if (attempts === 1) {
                throw new RetryableError('not yet', {
                  retryAfterMs: (context as { delayMs: number }).delayMs,
                });
              }
              return { attempts };
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    // The later retry is scheduled while the earlier one's timer is armed.
    const tasks = await tasker.createTasks([
      { name: 'retry_later', context: { delayMs: 100 } },
      { name: 'retry_later', context: { delayMs: 700 } },
      { name: 'retry_later', context: { delayMs: 1400 } },
    ]);
    for (const { id } of tasks) {
      const done = await tasker.waitForTask(id, { timeoutMs: 30_000 });
      expect(done.state).toBe('complete');
      expect(done.steps[0]!.results).toEqual({ attempts: 2 });
    }
  });

  test('a retry is claimed when its timer fires, whatever the microseconds of its time', async () => {
    // The database's retry time has microseconds; a worker woken at its truncated millisecond claimed
    // too early about once in 30 retries and left the step to the poll (here: never).
    const { tasker } = await testTasker(backend, {
      execution: { pollIntervalMs: 600_000 },
      backoff: { scheduleMs: [20], maxMs: 1000, jitterRatio: 0 },
    });
    const seen = new Map<number, number>();
    tasker.register(
      defineTask({
        name: 'retry_soon',
        steps: [
          {
            name: 'twice',
            handler: ({ task }) => {
              const attempts = (seen.get(task.id) ?? 0) + 1;
              seen.set(task.id, attempts);
              if (attempts === 1) throw new RetryableError('not yet');
              return { attempts };
            },
          },
        ],
      }),
    );
    const worker = await tasker.startWorker();
    try {
      for (let i = 0; i < 40; i++) {
        const { id } = await tasker.createTask({ name: 'retry_soon', context: {} });
        expect((await tasker.waitForTask(id, { timeoutMs: 5_000 })).state).toBe('complete');
      }
    } finally {
      await worker.stop();
    }
  });
});
