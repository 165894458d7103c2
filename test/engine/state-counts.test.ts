/**
 * The maintained counts by state (migration 10) against the truth (GROUP BY over the tables), after every
 * kind of state change: creation, runs that complete, fail, retry, are cancelled, resolved by hand,
 * deleted and truncated; folded or not. And the two other parts of that migration: listing tasks by
 * state, and a step taken back from a dead worker keeping its place in the ready queue.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { createSqlContext } from '../../src/engine/sql/sql-context.js';
import { countByState } from '../../src/engine/sql/status-queries.js';
import { defineTask, PermanentError } from '../../src/index.js';
import { BACKENDS, type TestTasker, testTasker } from '../helpers.js';

async function truth(t: TestTasker) {
  const s = quoteIdent(t.schema);
  const counts = async (table: string) => {
    const { rows } = await t.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::integer AS n FROM ${s}.${table} GROUP BY state`,
    );
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  };
  return { tasks: await counts('tasks'), steps: await counts('steps') };
}

const maintained = (t: TestTasker) => countByState(createSqlContext(t.db, t.schema));

async function counterRows(t: TestTasker): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM ${quoteIdent(t.schema)}.state_counts`,
  );
  return Number(rows[0]!.n);
}

describe.each(BACKENDS)('state counts and queue order on %s', (backend) => {
  test('the maintained counts equal GROUP BY after every kind of change, folded or not', async () => {
    const t = await testTasker(backend);
    const { tasker } = t;
    tasker.register(
      defineTask({
        name: 'mixed',
        contextSchema: { type: 'object', properties: { fail: { type: 'boolean' } } },
        steps: [
          { name: 'first', handler: async () => ({ ok: true }) },
          {
            name: 'second',
            dependsOn: ['first'],
            handler: async ({ context }) => {
              if ((context as { fail?: boolean }).fail) throw new PermanentError('no');
              return { ok: true };
            },
          },
          { name: 'third', dependsOn: ['second'], handler: async () => ({ ok: true }) },
        ],
      }),
    );
    expect(await maintained(t)).toEqual(await truth(t));

    const created = await tasker.createTasks([
      ...Array.from({ length: 6 }, () => ({ name: 'mixed', context: {} })),
      ...Array.from({ length: 3 }, () => ({ name: 'mixed', context: { fail: true } })),
    ]);
    const cancelled = await tasker.createTask({ name: 'mixed', context: {} });
    await tasker.cancelTask(cancelled.id);
    expect(await maintained(t)).toEqual(await truth(t));

    const worker = await tasker.startWorker({ concurrency: 4 });
    const done = await Promise.all(created.map((c) => tasker.waitForTask(c.id, { timeoutMs: 30_000 })));
    expect(done.filter((d) => d.state === 'error')).toHaveLength(3);
    expect(await maintained(t)).toEqual(await truth(t));

    // Operators: resolve a failed step by hand, retry another failed task.
    const failed = done.filter((d) => d.state === 'error');
    const second = (d: (typeof failed)[number]) => d.steps.find((s) => s.name === 'second')!;
    await tasker.resolveStep(second(failed[0]!).id, { byHand: true });
    await tasker.retryTask(failed[1]!.id);
    await tasker.waitForTask(failed[0]!.id, { timeoutMs: 30_000 });
    await tasker.waitForTask(failed[1]!.id, { timeoutMs: 30_000 });
    await worker.stop();
    const counts = await maintained(t);
    expect(counts).toEqual(await truth(t));
    expect(counts.tasks.complete).toBeGreaterThan(0);
    expect(counts.steps.cancelled).toBe(3);

    // Folding moves every connection's rows into the totals and changes no count.
    const s = quoteIdent(t.schema);
    const before = await counterRows(t);
    await t.db.query(`SELECT ${s}.fold_state_counts()`);
    expect(await counterRows(t)).toBeLessThanOrEqual(before);
    const { rows: stray } = await t.db.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM ${s}.state_counts WHERE backend <> 0`,
    );
    expect(Number(stray[0]!.n)).toBe(0);
    expect(await maintained(t)).toEqual(await truth(t));

    // Deletes (cascading to steps) and TRUNCATE are counted too.
    await t.db.query(`DELETE FROM ${s}.tasks WHERE id = $1`, [cancelled.id]);
    expect(await maintained(t)).toEqual(await truth(t));
    await t.db.exec(`TRUNCATE ${s}.tasks CASCADE`);
    expect(await maintained(t)).toEqual({ tasks: {}, steps: {} });
  });

  test('listing by state: several states merge in id order, duplicates ignored, pages do not overlap', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(defineTask({ name: 'one', steps: [{ name: 'only', handler: async () => ({}) }] }));
    const made = await tasker.createTasks(Array.from({ length: 9 }, () => ({ name: 'one' })));
    for (const c of made.filter((_, i) => i % 3 === 0)) await tasker.cancelTask(c.id);
    const ids = made.map((c) => c.id);
    const cancelled = ids.filter((_, i) => i % 3 === 0);
    const pending = ids.filter((_, i) => i % 3 !== 0);

    const all: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await tasker.listTasks({
        state: ['pending', 'cancelled', 'pending'],
        limit: 4,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...result.tasks.map((x) => x.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(all).toEqual([...ids].sort((a, b) => b - a));
    const oldestCancelled = await tasker.listTasks({ state: 'cancelled', order: 'asc', limit: 2 });
    expect(oldestCancelled.tasks.map((x) => x.id)).toEqual(cancelled.slice(0, 2));
    const newestPending = await tasker.listTasks({ state: ['pending'], limit: 50 });
    expect(newestPending.tasks.map((x) => x.id)).toEqual([...pending].reverse());
    expect(newestPending.nextCursor).toBeNull();
  });

  test('a step taken back from a dead worker is claimed before steps that became ready after it', async () => {
    const t = await testTasker(backend);
    const { tasker } = t;
    tasker.register(defineTask({ name: 'one', steps: [{ name: 'only', handler: async () => ({}) }] }));
    const s = quoteIdent(t.schema);
    const dead = randomUUID();
    const alive = randomUUID();
    for (const id of [dead, alive]) {
      await t.db.query(`SELECT ${s}.register_worker($1, $2, 'test', 1, 1, NULL, 1000)`, [id, id.slice(0, 8)]);
    }
    const first = await tasker.createTask({ name: 'one' });
    const { rows: claimed } = await t.db.query<{ step_id: number; task_id: number }>(
      `SELECT step_id, task_id FROM ${s}.claim_steps($1, NULL, 1)`,
      [dead],
    );
    expect(claimed.map((r) => r.task_id)).toEqual([first.id]);
    // A backlog that became ready after the dying worker took its step.
    const backlog = await tasker.createTasks(Array.from({ length: 5 }, () => ({ name: 'one' })));
    await t.db.query(`UPDATE ${s}.workers SET last_heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [
      dead,
    ]);
    const { rows: reaped } = await t.db.query<{ n: number }>(`SELECT ${s}.reap_lost_steps() AS n`);
    expect(reaped[0]!.n).toBe(1);

    const { rows: next } = await t.db.query<{ step_id: number; attempt: number }>(
      `SELECT step_id, attempt FROM ${s}.claim_steps($1, NULL, 2)`,
      [alive],
    );
    expect(next[0]).toEqual({ step_id: claimed[0]!.step_id, attempt: 2 });
    const firstOfBacklog = (await tasker.getTask(backlog[0]!.id)).steps[0]!.id;
    expect(next[1]!.step_id).toBe(firstOfBacklog);
  });
});
