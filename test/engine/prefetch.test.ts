/**
 * Prefetch (execution.prefetch): a worker claims steps beyond its concurrency and starts them as slots
 * free. The waiting steps are leased to it (nobody else takes them), but no more than `concurrency`
 * handlers ever run at once; stopping releases the waiting ones without charging an attempt; a step whose
 * task is cancelled while it waits settles without its handler running.
 */
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask, type StepContext } from '../../src/index.js';
import { BACKENDS, type Backend, sleep, testTasker } from '../helpers.js';

/** A gate the handlers wait on, counting how many run at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { running: 0, peak: 0, started: [] as number[], open };
  const handler = async ({ task, signal }: StepContext) => {
    state.started.push(task.id);
    state.running++;
    state.peak = Math.max(state.peak, state.running);
    try {
      await Promise.race([
        opened,
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      ]);
      if (signal.aborted) throw signal.reason;
      return { done: true };
    } finally {
      state.running--;
    }
  };
  return { state, handler };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/**
 * One slot, one step of a prefetch: a gated step runs, a second task's step waits in line, and that task is
 * cancelled. The default heartbeat (every 10 s) does not come round meanwhile: the cancellation notice does.
 */
async function cancelWhileWaiting(backend: Backend) {
  const t = await testTasker(backend);
  const g = gate();
  t.tasker.register(defineTask({ name: 'gated', steps: [{ name: 'wait', handler: g.handler }] }));
  const [running] = await t.tasker.createTasks([{ name: 'gated', context: { i: 0 } }]);
  const worker = await t.tasker.startWorker({ concurrency: 1, prefetch: 1 });
  await until('the first step runs', () => g.state.started.length === 1);
  const waiting = await t.tasker.createTask({ name: 'gated', context: { i: 1 } });
  const steps = `${quoteIdent(t.schema)}.steps`;
  await until('the second step is leased to the worker', async () => {
    const rows = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${steps} WHERE task_id = $1 AND worker_id = $2`,
      [waiting.id, worker.id],
    );
    return rows.rows[0]!.n === 1;
  });
  expect(await t.tasker.cancelTask(waiting.id)).toBe('cancelled');
  await sleep(300); // the cancellation notice reaches the worker
  return { t, g, running: running!, waiting, worker };
}

describe.each(BACKENDS)('prefetch on %s', (backend) => {
  test('claims concurrency + prefetch steps, runs at most concurrency at once, and finishes them all', async () => {
    const t = await testTasker(backend);
    const g = gate();
    t.tasker.register(defineTask({ name: 'gated', steps: [{ name: 'wait', handler: g.handler }] }));
    const tasks = await t.tasker.createTasks(
      Array.from({ length: 10 }, (_, i) => ({ name: 'gated', context: { i } })),
    );
    const worker = await t.tasker.startWorker({ concurrency: 2, prefetch: 3 });
    const steps = `${quoteIdent(t.schema)}.steps`;
    const inProgress = async () =>
      (
        await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${steps} WHERE state = 'in_progress' AND worker_id = $1`,
          [worker.id],
        )
      ).rows[0]!.n;

    await until('five steps are leased to the worker', async () => (await inProgress()) === 5);
    await sleep(300); // time for a wrong extra claim or start to show
    expect(await inProgress()).toBe(5);
    expect(g.state.running).toBe(2);
    expect(worker.running).toBe(2);

    g.state.open();
    for (const task of tasks)
      expect((await t.tasker.waitForTask(task.id, { timeoutMs: 20_000 })).state).toBe('complete');
    expect(g.state.peak).toBe(2);
    expect(g.state.started).toHaveLength(10);
    await worker.stop();
  });

  test('stopping releases the waiting steps at once, with no attempt charged, for another worker to run', async () => {
    const t = await testTasker(backend);
    const g = gate();
    t.tasker.register(defineTask({ name: 'gated', steps: [{ name: 'wait', handler: g.handler }] }));
    const tasks = await t.tasker.createTasks(
      Array.from({ length: 3 }, (_, i) => ({ name: 'gated', context: { i } })),
    );
    const first = await t.tasker.startWorker({ concurrency: 1, prefetch: 2 });
    const steps = `${quoteIdent(t.schema)}.steps`;
    const held = async () =>
      (
        await t.db.query<{ id: number; state: string; attempts: number }>(
          `SELECT id, state, attempts FROM ${steps} WHERE worker_id = $1 ORDER BY id`,
          [first.id],
        )
      ).rows;
    // The leases commit before the worker reads the reply that starts the first handler: wait for both.
    await until(
      'three steps are leased to the first worker, one of them started',
      async () => (await held()).length === 3 && g.state.started.length >= 1,
    );
    expect(g.state.started).toHaveLength(1);
    const runningTask = g.state.started[0]!;

    const stopping = first.stop({ timeoutMs: 60_000 });
    // The two waiting steps go back to the queue (released: no attempt counted) while the running one
    // is still running.
    await until('the waiting steps are released', async () => {
      const rows = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${steps} WHERE state = 'waiting_for_retry' AND attempts = 0`,
      );
      return rows.rows[0]!.n === 2;
    });
    expect(g.state.running).toBe(1);
    g.state.open();
    await stopping;

    const second = await t.tasker.startWorker({ concurrency: 5 });
    for (const task of tasks)
      expect((await t.tasker.waitForTask(task.id, { timeoutMs: 20_000 })).state).toBe('complete');
    // Each step ran once: the released ones on the second worker, as their first attempt.
    expect([...g.state.started].sort()).toEqual(tasks.map((x) => x.id).sort());
    for (const task of tasks) {
      const step = (await t.tasker.getTask(task.id)).steps[0]!;
      expect(step.attempts).toBe(1);
      if (task.id !== runningTask) {
        const trail = await t.tasker.getStepTransitions(step.id);
        expect(trail.map((x) => `${x.fromState}>${x.toState}`)).toEqual([
          'pending>in_progress',
          'in_progress>waiting_for_retry',
          'waiting_for_retry>in_progress',
          'in_progress>complete',
        ]);
      }
    }
    await second.stop();
  });

  test('a waiting step whose task is cancelled settles without its handler running', async () => {
    const { t, g, running, waiting, worker } = await cancelWhileWaiting(backend);
    g.state.open();
    expect((await t.tasker.waitForTask(running.id, { timeoutMs: 20_000 })).state).toBe('complete');
    await until('the cancelled step is recorded', async () => {
      const task = await t.tasker.getTask(waiting.id);
      return task.steps[0]!.state !== 'in_progress';
    });
    expect((await t.tasker.getTask(waiting.id)).steps[0]!.state).toBe('cancelled');
    expect(g.state.started).toEqual([running.id]);
    await worker.stop();
  });

  test('stopping settles a waiting step of a cancelled task as cancelled instead of releasing it', async () => {
    const { t, g, running, waiting, worker } = await cancelWhileWaiting(backend);

    // The running step does not finish in time: it is released; the cancelled one is recorded as such.
    await worker.stop({ timeoutMs: 200 });
    expect((await t.tasker.getTask(waiting.id)).steps[0]!.state).toBe('cancelled');
    expect((await t.tasker.getTask(running.id)).steps[0]!.state).toBe('waiting_for_retry');
    expect(g.state.started).toEqual([running.id]);
    g.state.open();
  });

  test('a step that continues a task goes to the front of the line', async () => {
    const t = await testTasker(backend);
    const order: string[] = [];
    t.tasker.register(
      defineTask({
        name: 'chain',
        steps: [
          { name: 'a', handler: async () => void order.push('a') },
          { name: 'b', dependsOn: ['a'], handler: async () => void order.push('b') },
        ],
      }),
    );
    t.tasker.register(
      defineTask({
        name: 'single',
        steps: [
          {
            name: 's',
            handler: async ({ context }: StepContext<{ i: number }>) => {
              order.push(`s${context.i}`);
              // The first one runs while a's child comes back from the database.
              if (context.i === 1) await sleep(300);
            },
          },
        ],
      }),
    );
    const chain = await t.tasker.createTask({ name: 'chain' });
    const singles = await t.tasker.createTasks([
      { name: 'single', context: { i: 1 } },
      { name: 'single', context: { i: 2 } },
    ]);
    // One slot: a runs, s1 and s2 wait; a's child b is claimed while s1 runs and starts before s2.
    const worker = await t.tasker.startWorker({ concurrency: 1, prefetch: 2 });
    for (const task of [chain, ...singles]) {
      expect((await t.tasker.waitForTask(task.id, { timeoutMs: 20_000 })).state).toBe('complete');
    }
    expect(order).toEqual(['a', 's1', 'b', 's2']);
    await worker.stop();
  });

  test('worker options are checked', async () => {
    const t = await testTasker(backend);
    t.tasker.register(defineTask({ name: 'one', steps: [{ name: 'only', handler: async () => ({}) }] }));
    await expect(t.tasker.startWorker({ prefetch: -1 })).rejects.toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      message: expect.stringContaining('prefetch'),
    });
    await expect(t.tasker.startWorker({ concurrency: 0 })).rejects.toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      message: expect.stringContaining('concurrency'),
    });
  });
});
