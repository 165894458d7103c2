// Flow control in one process (the multi-process guarantees are in test/durability/flow-control-processes):
// concurrency keys (step and task scope) never exceeded, measured from the handlers' own log; a full key
// does not hold up other keys; rate limits defer steps without spending attempts and record the wait
// once; a 429 slows the bucket; priorities order the claim, with aging.
import { describe, expect, test } from 'vitest';
import { defineTask, isTaskerError, RateLimitedError } from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

/** Most intervals open at once, per key, from [key, start, end] records. */
function maxOverlap(log: ReadonlyArray<readonly [string, number, number]>): Map<string, number> {
  const byKey = new Map<string, Array<[number, number]>>();
  for (const [key, start, end] of log) {
    byKey.set(key, [...(byKey.get(key) ?? []), [start, 1], [end, -1]]);
  }
  const result = new Map<string, number>();
  for (const [key, events] of byKey) {
    // Ends before starts at the same instant: touching intervals do not overlap.
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let most = 0;
    for (const [, d] of events) {
      open += d;
      most = Math.max(most, open);
    }
    result.set(key, most);
  }
  return result;
}

describe.each(BACKENDS)('flow control on %s', (backend) => {
  test('a step-scoped key: at most `limit` steps per key run, other keys are not held up', async () => {
    const { tasker, schema, db } = await testTasker(backend, { execution: { concurrency: 8 } });
    const log: Array<[string, number, number]> = [];
    tasker.register(
      defineTask({
        name: 'sync_customer',
        steps: [
          {
            name: 'call',
            concurrency: { key: 'customerId', limit: 2 },
            handler: async ({ context }) => {
              const start = performance.now();
              await sleep(context.slow ? 120 : 20);
              log.push([String(context.customerId), start, performance.now()]);
              return null;
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    // Six of a slow key first, then one each of other keys: those must not wait behind the slow key.
    const slow = await tasker.createTasks(
      Array.from({ length: 6 }, () => ({ name: 'sync_customer', context: { customerId: 'c1', slow: true } })),
    );
    const others = await tasker.createTasks(
      Array.from({ length: 4 }, (_, i) => ({ name: 'sync_customer', context: { customerId: `o${i}` } })),
    );
    for (const t of others) await tasker.waitForTask(t.id, { timeoutMs: 20_000 });
    const slowDoneWhenOthersDone = log.filter(([k]) => k === 'c1').length;
    for (const t of slow)
      expect((await tasker.waitForTask(t.id, { timeoutMs: 20_000 })).state).toBe('complete');
    expect(maxOverlap(log).get('c1')).toBe(2);
    // The other keys finished while the slow key still had work parked.
    expect(slowDoneWhenOthersDone).toBeLessThan(6);

    // Parked steps wrote one throttled row each and spent no attempt.
    const task = await tasker.getTask(slow[5]!.id);
    const step = task.steps[0]!;
    expect(step.attempts).toBe(1);
    const { rows } = await db.query<{ from_state: string; to_state: string; metadata: unknown }>(
      `SELECT from_state, to_state, metadata FROM "${schema}".step_transitions WHERE step_id = $1 ORDER BY sort_key`,
      [step.id],
    );
    const throttled = rows.filter((r) => r.from_state === r.to_state);
    expect(throttled.length).toBeLessThanOrEqual(1);
    expect(rows.at(-1)?.to_state).toBe('complete');
  });

  test('a task-scoped key: one task per customer from first step to finish', async () => {
    const { tasker } = await testTasker(backend, { execution: { concurrency: 6 } });
    const spans = new Map<number, [number, number]>();
    const touch = (id: number) => {
      const now = performance.now();
      const span = spans.get(id);
      spans.set(id, span ? [span[0], now] : [now, now]);
    };
    tasker.register(
      defineTask({
        name: 'onboarding',
        concurrency: { key: 'customer.id', limit: 1 },
        steps: [
          { name: 'a', handler: async ({ task }) => (touch(task.id), await sleep(15), touch(task.id)) },
          { name: 'b', handler: async ({ task }) => (touch(task.id), await sleep(5), touch(task.id)) },
          {
            name: 'c',
            dependsOn: ['a', 'b'],
            handler: async ({ task }) => (touch(task.id), await sleep(15), touch(task.id)),
          },
        ],
      }),
    );
    await tasker.startWorker();
    const tasks = await tasker.createTasks(
      Array.from({ length: 5 }, (_, i) => ({ name: 'onboarding', context: { customer: { id: i % 2 } } })),
    );
    for (const t of tasks)
      expect((await tasker.waitForTask(t.id, { timeoutMs: 20_000 })).state).toBe('complete');
    const log = tasks.map((t, i) => [String(i % 2), ...spans.get(t.id)!] as [string, number, number]);
    expect(maxOverlap(log).get('0')).toBe(1);
    expect(maxOverlap(log).get('1')).toBe(1);
  });

  test('a missing key value is refused naming the field, creating nothing', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'keyed',
        concurrency: { key: 'customerId', limit: 1 },
        steps: [{ name: 'only', handler: () => 1 }],
      }),
    );
    const error = await tasker.createTask({ name: 'keyed', context: {} }).catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_INVALID_CONTEXT')).toBe(true);
    expect((error as Error).message).toContain('context/customerId');
    expect((await tasker.listTasks({})).tasks).toHaveLength(0);
    expect(() =>
      defineTask({
        name: 'bad',
        concurrency: { key: 'a b', limit: 0 },
        steps: [{ name: 's', handler: () => 1 }],
      }),
    ).toThrow(/concurrency\.key[\s\S]*concurrency\.limit/);
  });

  test('rate limits: steps beyond the burst wait for tokens without spending attempts; a 429 slows the bucket', async () => {
    const { tasker, schema, db } = await testTasker(backend, {
      execution: { concurrency: 10 },
      rateLimits: { partner: { rate: 10, per: 'second', burst: 2 } },
    });
    const starts: number[] = [];
    let answered429 = false;
    tasker.register(
      defineTask({
        name: 'call_partner',
        steps: [
          {
            name: 'call',
            rateLimits: ['partner'],
            handler: () => {
              starts.push(Date.now());
              return null;
            },
          },
        ],
      }),
    );
    tasker.register(
      defineTask({
        name: 'overload',
        steps: [
          {
            name: 'call',
            rateLimits: [{ name: 'partner', units: 1 }],
            handler: () => {
              if (!answered429) {
                answered429 = true;
                throw new RateLimitedError('partner answered 429', { retryAfterMs: 1000 });
              }
              return null;
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const t0 = Date.now();
    const tasks = await tasker.createTasks(Array.from({ length: 12 }, () => ({ name: 'call_partner' })));
    for (const t of tasks)
      expect((await tasker.waitForTask(t.id, { timeoutMs: 20_000 })).state).toBe('complete');
    // 2 at once, then 10 per second: the 12th no earlier than 1 s after the start.
    starts.sort((a, b) => a - b);
    expect(starts[11]! - t0).toBeGreaterThanOrEqual(900);
    // Over any window of 1 s, at most burst + rate x 1 s starts.
    for (let i = 0; i < starts.length; i++) {
      expect(starts.filter((s) => s >= starts[i]! && s < starts[i]! + 1000).length).toBeLessThanOrEqual(12);
    }
    for (const t of tasks) {
      const step = (await tasker.getTask(t.id)).steps[0]!;
      expect(step.attempts).toBe(1);
    }

    const overload = await tasker.createTask({ name: 'overload' });
    expect((await tasker.waitForTask(overload.id, { timeoutMs: 20_000 })).state).toBe('complete');
    const { rows } = await db.query<{ limited_total: string; slow_factor: number }>(
      `SELECT limited_total, slow_factor FROM "${schema}".rate_limits WHERE name = 'partner'`,
    );
    expect(Number(rows[0]!.limited_total)).toBe(1);
    expect(rows[0]!.slow_factor).toBeLessThan(1);
  });

  test('a step naming an undefined rate limit stops the worker from starting', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({ name: 'uses', steps: [{ name: 's', rateLimits: ['nowhere'], handler: () => 1 }] }),
    );
    const error = await tasker.startWorker().catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('rateLimits.nowhere');
  });

  test('priorities: higher first, and a step that has waited long enough goes before newer high ones', async () => {
    const { tasker, schema, db } = await testTasker(backend, { execution: { concurrency: 1 } });
    const order: string[] = [];
    tasker.register(
      defineTask({
        name: 'job',
        steps: [{ name: 's', handler: ({ context }) => void order.push(String(context.label)) }],
      }),
    );
    // Queued before any worker runs: one low task that has waited 100 s (its run_at moved back), then
    // tasks of priority 0, 50 and 500.
    const aged = await tasker.createTask({ name: 'job', context: { label: 'aged-low' }, priority: -10 });
    await db.query(
      `UPDATE "${schema}".steps SET run_at = run_at - interval '100 seconds' WHERE task_id = $1`,
      [aged.id],
    );
    await tasker.createTask({ name: 'job', context: { label: 'p0' } });
    await tasker.createTask({ name: 'job', context: { label: 'p50' }, priority: 50 });
    const last = await tasker.createTask({ name: 'job', context: { label: 'p500' }, priority: 500 });
    await tasker.startWorker();
    await tasker.waitForTask(last.id, { timeoutMs: 10_000 });
    while (order.length < 4) await sleep(20);
    // p500 (worth 500 s) > aged-low (waited 100 s, -10) > p50 > p0.
    expect(order).toEqual(['p500', 'aged-low', 'p50', 'p0']);
    expect((await tasker.getTask(last.id)).priority).toBe(500);
  });
});
