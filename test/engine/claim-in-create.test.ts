/**
 * A task created while a worker of the same Tasker has room starts in the round trip that creates it
 * (migration 40): createTask claims for that worker in its own transaction, so the first step's lease has
 * the task's creation time (now() is the transaction's), and no wake-up and second round trip come between
 * them. Not for a worker with steps waiting in its line or that does not serve the template; what the
 * claim leaves ready is announced as before.
 */
import { Client } from 'pg';
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { claimSteps } from '../../src/engine/sql/dispatch-queries.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, PG_URL, playedWorker, sleep, testTasker } from '../helpers.js';

interface StartRow {
  readonly name: string;
  readonly state: string;
  readonly worker_id: string | null;
  /** The step was leased in the transaction that created its task. */
  readonly in_creation: boolean | null;
}

async function starts(t: Awaited<ReturnType<typeof testTasker>>, taskId: number): Promise<StartRow[]> {
  const s = quoteIdent(t.schema);
  const { rows } = await t.db.query<StartRow>(
    `SELECT st.name, st.state, st.worker_id::text, st.last_attempted_at = tk.created_at AS in_creation
       FROM ${s}.steps st JOIN ${s}.tasks tk ON tk.id = st.task_id
      WHERE st.task_id = $1 ORDER BY st.position`,
    [taskId],
  );
  return rows;
}

function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return (async () => {
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
}

describe.each(BACKENDS)('claiming in the creating round trip, on %s', (backend) => {
  test('an idle worker takes the new task in the transaction that creates it', async () => {
    const t = await testTasker(backend, { execution: { pollIntervalMs: 60_000 } });
    const ran: number[] = [];
    t.tasker.register(
      defineTask({
        name: 'one',
        steps: [{ name: 'only', handler: (ctx) => ran.push(ctx.task.id) }],
      }),
    );
    const worker = await t.tasker.startWorker({ concurrency: 2 });
    await sleep(200); // its first claim (empty) has come back: its room is free
    const task = await t.tasker.createTask({ name: 'one', context: { n: 1 } });
    await until(async () => (await t.tasker.getTask(task.id))?.state === 'complete', 'the task');
    expect(ran).toEqual([task.id]);
    expect(await starts(t, task.id)).toEqual([
      { name: 'only', state: 'complete', worker_id: worker.id, in_creation: true },
    ]);
  });

  test('a worker with room takes it while running; not one with steps in line, nor for another template', async () => {
    // (No poll: a claim of the worker's own in flight holds its room, and nothing would be lent then.)
    const t = await testTasker(backend, { execution: { pollIntervalMs: 60_000 } });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    t.tasker.register(
      defineTask({ namespace: 'slow', name: 'hold', steps: [{ name: 'wait', handler: () => held }] }),
    );
    t.tasker.register(
      defineTask({ namespace: 'quick', name: 'one', steps: [{ name: 'only', handler: () => 1 }] }),
    );
    // One slot and room for one more in line (prefetch).
    const worker = await t.tasker.startWorker({ concurrency: 1, prefetch: 1, namespaces: ['slow'] });
    const create = (n: number) => t.tasker.createTask({ namespace: 'slow', name: 'hold', context: { n } });
    const first = await create(1);
    await until(async () => (await starts(t, first.id))[0]!.state === 'in_progress', 'the first step');
    await sleep(200); // the claim the worker sends after starting a step has come back
    // Running a step, with room in its line: the second task's step is leased as it is created.
    const second = await create(2);
    expect(await starts(t, second.id)).toEqual([
      { name: 'wait', state: 'in_progress', worker_id: worker.id, in_creation: true },
    ]);
    // A step waits in its line now: the third is created and left ready, taken later the usual way.
    const third = await create(3);
    expect((await starts(t, third.id))[0]).toMatchObject({ state: 'pending', worker_id: null });
    // No worker serves 'quick': its task is created and left ready.
    const other = await t.tasker.createTask({ namespace: 'quick', name: 'one', context: {} });
    expect(await starts(t, other.id)).toEqual([
      { name: 'only', state: 'pending', worker_id: null, in_creation: null },
    ]);
    release();
    await until(async () => (await t.tasker.getTask(third.id))?.state === 'complete', 'the held tasks');
    expect((await starts(t, third.id))[0]).toMatchObject({ worker_id: worker.id, in_creation: false });
  });

  test('it takes up to the room the worker lends; the rest goes the usual way', async () => {
    const t = await testTasker(backend, { execution: { pollIntervalMs: 60_000 } });
    t.tasker.register(
      defineTask({
        name: 'fan',
        steps: [
          { name: 'a', handler: () => 1 },
          { name: 'b', handler: () => 2 },
          { name: 'c', handler: () => 3 },
        ],
      }),
    );
    const worker = await t.tasker.startWorker({ concurrency: 1 });
    await sleep(200);
    // Idle with room for one: one of the three first steps is leased in the creating transaction.
    const task = await t.tasker.createTask({ name: 'fan', context: { n: 1 } });
    await until(async () => (await t.tasker.getTask(task.id))?.state === 'complete', 'the fan-out');
    const rows = await starts(t, task.id);
    expect(rows.map((r) => r.state)).toEqual(['complete', 'complete', 'complete']);
    expect(rows.filter((r) => r.in_creation).map((r) => r.name)).toEqual(['a']);
    expect(rows.every((r) => r.worker_id === worker.id)).toBe(true);
  });
});

describe.skipIf(!PG_URL)('the ready notification, on postgres', () => {
  test('is sent for the new steps the claim left, and not when it took them all', async () => {
    const t = await testTasker('postgres');
    t.tasker.register(
      defineTask({
        name: 'two',
        steps: [
          { name: 'a', handler: () => 1 },
          { name: 'b', handler: () => 2 },
        ],
      }),
    );
    const [older] = await t.tasker.createTasks([{ name: 'two', context: { n: 0 } }]);
    const s = quoteIdent(t.schema);
    const { rows: named } = await t.db.query<{ id: number }>(
      `SELECT id FROM ${s}.named_tasks WHERE name = 'two'`,
    );
    const { sql, workerId } = await playedWorker(t, 4);
    const listener = new Client({ connectionString: PG_URL });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.payload ?? ''));
      await listener.query(`LISTEN ${quoteIdent(`${t.schema}:ready`)}`);
      const call = async (limit: number, n: number) => {
        const { rows } = await t.db.query<{ kind: string; task_id: number; step_name: string | null }>(
          `SELECT kind, task_id, step_name FROM ${s}.create_tasks_and_claim($1, $2::jsonb, $3, $4, NULL)`,
          [named[0]!.id, JSON.stringify([{ context: { n } }]), workerId, limit],
        );
        return rows;
      };
      const quiet = async () => {
        // (A notification committed before the reply reaches the listener soon after it.)
        await listener.query('SELECT 1');
        await new Promise((r) => setTimeout(r, 50));
      };
      // Older ready work goes first: the claim takes the first task's steps, the new ones are announced.
      const first = await call(2, 1);
      expect(first.map((r) => [r.kind, r.step_name, r.task_id === older!.id])).toEqual([
        ['created', null, false],
        ['claimed', 'a', true],
        ['claimed', 'b', true],
      ]);
      await until(async () => heard.length === 1, 'the notification', 2000);
      await claimSteps(sql, workerId, null, 2); // the new task's steps: nothing older is ready now
      // The claim takes both new steps: nobody is woken.
      const second = await call(2, 2);
      expect(second.map((r) => [r.kind, r.step_name, r.task_id === second[0]!.task_id])).toEqual([
        ['created', null, true],
        ['claimed', 'a', true],
        ['claimed', 'b', true],
      ]);
      await quiet();
      expect(heard).toEqual(['']);
      // Room for one: the other is left ready, and announced.
      expect((await call(1, 3)).map((r) => r.kind)).toEqual(['created', 'claimed']);
      await until(async () => heard.length === 2, 'the second notification', 2000);
      // No room lent: create_tasks as before, which announces its ready steps itself.
      expect((await call(0, 4)).map((r) => r.kind)).toEqual(['created']);
      await until(async () => heard.length === 3, 'the third notification', 2000);
    } finally {
      await listener.end();
    }
  });
});
