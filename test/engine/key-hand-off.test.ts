/**
 * A concurrency key's next step in line (migration 35): when every holder of a key is one worker's, its
 * claim leases the key's next steps in line (kind queued) and the worker starts one as its holder ends,
 * without a round trip. Played step by step through the dispatch functions (which rows are claimed,
 * queued or parked, for two workers; never in line ahead of a step parked earlier), then with a real
 * worker: the limit holds, measured from the handlers' own log; a worker that stops releases its steps in
 * line unrun.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, pgliteForFile, sleep, testTasker } from '../helpers.js';

const unused = async () => {
  throw new Error('no worker runs in this test');
};

interface Row {
  readonly kind: string;
  readonly task_id: number;
  readonly concurrency_key: string | null;
  readonly concurrency_limit: number | null;
}

/** A template with a limit-1 key, two registered workers and the dispatch functions, played by the test. */
async function played(backend: (typeof BACKENDS)[number]) {
  const { tasker, db, schema } = await testTasker(backend);
  tasker.register(
    defineTask({
      name: 'serial',
      steps: [{ name: 'call', concurrency: { key: 'customerId', limit: 1 }, handler: unused }],
    }),
  );
  const s = quoteIdent(schema);
  const [a, b] = [randomUUID(), randomUUID()];
  for (const w of [a, b]) {
    await db.query(`SELECT ${s}.register_worker($1, 'test', 'host', 1, 4, NULL, 60000)`, [w]);
  }
  const claim = async (worker: string, limit: number) =>
    (await db.query<Row>(`SELECT * FROM ${s}.claim_steps($1, NULL, $2)`, [worker, limit])).rows;
  const stepOf = async (taskId: number) =>
    (
      await db.query<{ id: number; attempts: number; parked_on: string | null }>(
        `SELECT id, attempts, parked_on FROM ${s}.steps WHERE task_id = $1`,
        [taskId],
      )
    ).rows[0]!;
  const finish = async (worker: string, taskId: number) => {
    const step = await stepOf(taskId);
    await db.query(`SELECT * FROM ${s}.finish_steps($1, $2)`, [
      worker,
      JSON.stringify([{ step_id: step.id, attempt: step.attempts, ok: true, results: null }]),
    ]);
  };
  return { tasker, a, b, claim, stepOf, finish };
}

/**
 * A real worker's setup: a template with a limit-1 key whose handler sleeps `ms(n)` and logs its span, `count`
 * tasks of one key created (n = 0, 1, ...), and a count of the steps leased now (running or in line).
 */
async function logged(backend: (typeof BACKENDS)[number], count: number, ms: (n: number) => number) {
  const { tasker, db, schema } = await testTasker(backend, { execution: { concurrency: 4 } });
  const log: Array<{ n: number; start: number; end: number }> = [];
  tasker.register(
    defineTask({
      name: 'serial',
      steps: [
        {
          name: 'call',
          concurrency: { key: 'customerId', limit: 1 },
          handler: async ({ context }) => {
            const start = performance.now();
            await sleep(ms(Number(context.n)));
            log.push({ n: Number(context.n), start, end: performance.now() });
            return null;
          },
        },
      ],
    }),
  );
  const tasks = await tasker.createTasks(
    Array.from({ length: count }, (_, n) => ({ name: 'serial', context: { customerId: 'c1', n } })),
  );
  const leased = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.steps WHERE state = 'in_progress'`,
      )
    ).rows[0]!.n;
  return { tasker, log, tasks, leased };
}

beforeAll(async () => {
  if (BACKENDS.includes('pglite')) await pgliteForFile();
}, 180_000);

describe.each(BACKENDS)('a key hands off in line (%s)', (backend) => {
  test('the holder’s worker leases the next steps in line; others park; the key keeps its order', async () => {
    const { tasker, a, b, claim, stepOf, finish } = await played(backend);
    const [t1, t2, t3, t4, t5] = await tasker.createTasks([
      ...Array.from({ length: 4 }, () => ({ name: 'serial', context: { customerId: 'c1' } })),
      { name: 'serial', context: { customerId: 'c2' } },
    ]);

    // A: the first of c1 is claimed and the next two are leased in line behind it (limit 1: up to two
    // in line). The rows carry the key and its limit.
    const first = await claim(a, 3);
    expect(first.map((r) => [r.task_id, r.kind])).toEqual([
      [t1!.id, 'claimed'],
      [t2!.id, 'queued'],
      [t3!.id, 'queued'],
    ]);
    expect(new Set(first.map((r) => r.concurrency_key)).size).toBe(1);
    expect(first[0]!.concurrency_key).toContain('c1');
    expect(first.map((r) => r.concurrency_limit)).toEqual([1, 1, 1]);

    // B holds nothing of c1: the fourth parks while A holds the key; c2 is not held up by it.
    expect((await claim(b, 5)).map((r) => [r.task_id, r.kind])).toEqual([[t5!.id, 'claimed']]);
    expect((await stepOf(t4!.id)).parked_on).not.toBeNull();

    // A's holder ends (the next in line runs on A): the release wakes the parked step, and A's next claim
    // leases it in line.
    await finish(a, t1!.id);
    expect((await claim(a, 2)).map((r) => [r.task_id, r.kind])).toEqual([[t4!.id, 'queued']]);
    // B still gets nothing of the key: its holders (running or in line) are A's.
    expect(await claim(b, 2)).toEqual([]);
  });

  test('a step is not leased in line ahead of one parked on its key earlier', async () => {
    const { tasker, a, b, claim, stepOf } = await played(backend);
    const [t1, t2, t3] = await tasker.createTasks(
      Array.from({ length: 3 }, () => ({ name: 'serial', context: { customerId: 'c1' } })),
    );
    expect((await claim(a, 1)).map((r) => [r.task_id, r.kind])).toEqual([[t1!.id, 'claimed']]);
    // B's claim parks the second (A holds the key) ...
    expect(await claim(b, 1)).toEqual([]);
    // ... so A may not take the third in line ahead of it: it parks too.
    expect(await claim(a, 1)).toEqual([]);
    expect((await stepOf(t2!.id)).parked_on).not.toBeNull();
    expect((await stepOf(t3!.id)).parked_on).not.toBeNull();
  });

  test('a worker runs the key’s steps back to back, never above the limit', async () => {
    const { tasker, log, tasks, leased } = await logged(backend, 8, () => 30);
    // Steps of the key leased at once (running or in line), seen from the database while they run.
    let mostLeased = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        mostLeased = Math.max(mostLeased, await leased());
        await sleep(5);
      }
    })();
    await tasker.startWorker();
    for (const t of tasks) {
      expect((await tasker.waitForTask(t.id, { timeoutMs: 20_000 })).state).toBe('complete');
    }
    watching = false;
    await watch;

    // Each once, one at a time. (Mostly in creation order too, but not always: the worker's two round
    // trips in flight may each claim a step of the key, and one skips the row the other holds.)
    expect(log.map((e) => e.n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (let i = 1; i < log.length; i++) expect(log[i]!.start).toBeGreaterThanOrEqual(log[i - 1]!.end);
    // The next steps were leased in line while their holder ran (1 running, up to 2 in line).
    expect(mostLeased).toBeGreaterThanOrEqual(2);
    expect(mostLeased).toBeLessThanOrEqual(3);
  });

  test('a worker that stops releases its steps in line unrun; another worker runs them', async () => {
    const { tasker, log, tasks, leased } = await logged(backend, 3, (n) => (n === 0 ? 300 : 10));
    const first = await tasker.startWorker();
    // Wait until the first step runs and the others are leased in line behind it.
    for (let i = 0; i < 400; i++) {
      if ((await leased()) >= 2 && log.length === 0) break;
      await sleep(5);
    }
    await first.stop();
    // The first step finished during the drain; those in line did not start on the stopping worker.
    expect(log.map((e) => e.n)).toEqual([0]);
    await tasker.startWorker();
    for (const t of tasks) {
      expect((await tasker.waitForTask(t.id, { timeoutMs: 20_000 })).state).toBe('complete');
    }
    expect(log.map((e) => e.n)).toEqual([0, 1, 2]);
    // Released unrun: no attempt was spent on them.
    for (const t of tasks.slice(1)) expect((await tasker.getTask(t.id)).steps[0]!.attempts).toBe(1);
  });
});
