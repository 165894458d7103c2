// Run-time fan-out: a batch step's items become worker steps (real rows with their own attempts and
// audit trail), a step after the batch gets all their results in batch order, a worker resumes from its
// last checkpoint after a failure, a failed worker fails the batch, and bad answers are refused.
import { describe, expect, test } from 'vitest';
import { defineTask, RetryableError } from '../../src/index.js';
import { mapTemplate } from '../../src/templates/map-template.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('batch steps on %s', (backend) => {
  test('items fan out to worker steps; the step after the batch converges on their results in order', async () => {
    const { tasker } = await testTasker(backend, { execution: { concurrency: 8 } });
    tasker.register(
      defineTask({
        name: 'squares',
        steps: [
          {
            name: 'fan',
            kind: 'batch',
            handler: ({ context }) => ({ items: Array.from({ length: Number(context.n) }, (_, i) => i) }),
            batch: { handler: ({ inputs }) => ({ square: Number(inputs) ** 2 }) },
          },
          {
            name: 'sum',
            dependsOn: ['fan'],
            handler: ({ parents }) =>
              (parents.fan as Array<{ square: number }>).reduce((a, r) => a + r.square, 0),
          },
        ],
      }),
    );
    await tasker.startWorker();
    const created = await tasker.createTask({ name: 'squares', context: { n: 40 } });
    const done = await tasker.waitForTask(created.id, { timeoutMs: 30_000 });
    expect(done.state).toBe('complete');
    expect(done.stepCount).toBe(42);
    const fan = done.steps.find((s) => s.name === 'fan')!;
    expect(fan.results).toEqual(Array.from({ length: 40 }, (_, i) => ({ square: i * i })));
    expect(fan.attempts).toBe(1);
    expect(done.steps.find((s) => s.name === 'sum')!.results).toBe(
      Array.from({ length: 40 }, (_, i) => i * i).reduce((a, b) => a + b),
    );
    const workers = done.steps.filter((s) => s.name.startsWith('fan['));
    expect(workers).toHaveLength(40);
    expect(workers.every((w) => w.state === 'complete' && w.attempts === 1)).toBe(true);
    const trail = await tasker.getStepTransitions(workers[0]!.id);
    expect(trail.map((t) => t.toState)).toEqual(['in_progress', 'complete']);

    const empty = await tasker.createTask({ name: 'squares', context: { n: 0 } });
    const emptyDone = await tasker.waitForTask(empty.id, { timeoutMs: 10_000 });
    expect(emptyDone.steps.find((s) => s.name === 'sum')!.results).toBe(0);
  });

  test('a worker resumes from its last checkpoint; a failed worker fails the batch', async () => {
    const { tasker } = await testTasker(backend);
    const seen: Array<{ item: number; from: unknown }> = [];
    tasker.register(
      defineTask({
        name: 'pages',
        steps: [
          {
            name: 'crawl',
            kind: 'batch',
            handler: ({ context }) => ({ batches: [{ cursor: 0, size: 5, fail: context.fail === true }] }),
            batch: {
              retryLimit: 3,
              handler: async ({ inputs, lastCheckpoint, checkpoint, attempt }) => {
                const range = inputs as { cursor: number; size: number; fail: boolean };
                const from = (lastCheckpoint as { next?: number } | undefined)?.next ?? range.cursor;
                seen.push({ item: attempt, from: lastCheckpoint ?? null });
                if (range.fail) throw new Error('this range is broken');
                for (let page = from; page < range.cursor + range.size; page++) {
                  await checkpoint({ next: page + 1 });
                  // The first attempt dies half-way; the second goes on from page 3.
                  if (attempt === 1 && page === 2) throw new RetryableError('connection reset');
                }
                return { pages: range.size, resumedFrom: from };
              },
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const ok = await tasker.createTask({ name: 'pages' });
    const done = await tasker.waitForTask(ok.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]!.results).toEqual([{ pages: 5, resumedFrom: 3 }]);
    expect(seen).toEqual([
      { item: 1, from: null },
      { item: 2, from: { next: 3 } },
    ]);

    const broken = await tasker.createTask({ name: 'pages', context: { fail: true } });
    const failed = await tasker.waitForTask(broken.id, { timeoutMs: 30_000 });
    expect(failed.state).toBe('error');
    const crawl = failed.steps.find((s) => s.name === 'crawl')!;
    expect(crawl.lastError).toMatchObject({
      code: 'BATCH_FAILED',
      message: '1 batch worker of "crawl" failed: crawl[0]',
    });
    expect(failed.steps.find((s) => s.name === 'crawl[0]')!.attempts).toBe(3);
  }, 60_000);

  test('a wrong answer or too many items fails the batch step; YAML declares the same', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'bad',
        steps: [
          {
            name: 'fan',
            kind: 'batch',
            handler: ({ context }) => (context.many ? { items: [1, 2, 3] } : { nope: true }),
            batch: { handler: () => 1, maxItems: 2 },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const wrong = await tasker.waitForTask((await tasker.createTask({ name: 'bad' })).id, {
      timeoutMs: 10_000,
    });
    expect(wrong.steps[0]!.lastError).toMatchObject({
      code: 'INVALID_BATCH',
      message: 'batch step "fan" must return { items: [...] } or { batches: [...] }',
    });
    const many = await tasker.waitForTask(
      (await tasker.createTask({ name: 'bad', context: { many: true } })).id,
      {
        timeoutMs: 10_000,
      },
    );
    expect(many.steps[0]!.lastError!.message).toBe(
      'batch step "fan" returned 3 items; its limit is 2 (batch.maxItems)',
    );

    const mapped = mapTemplate(
      {
        name: 'y',
        step_templates: [
          {
            name: 'fan',
            kind: 'batch',
            handler: 'plan',
            batch: { handler: 'one', max_items: 50, retry_limit: 2 },
          },
        ],
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(defineTask(mapped.definition!).steps[0]!.batch).toMatchObject({
      handler: 'one',
      maxItems: 50,
      retryLimit: 2,
    });
  });
});
