/**
 * The round trip that records outcomes finds the steps it names by id (migration 37): the held steps it
 * locks, and the children it starts in line. Both used to be planned over partial indexes on state
 * (steps_running, steps_unfinished), whose entries pile up with every state change since the last vacuum;
 * after an ANALYZE taken while no step ran, the lock's generic plan compared every running step with every
 * outcome. The tests leave such a history and such statistics behind, then read the index scans the round
 * trip made (the statistics of the running transaction, so nothing else counts). The hand-off reads each
 * child and its task by id too (migration 41), whatever the tables held when its plan was made.
 */
import { describe, expect, test } from 'vitest';
import { type Database, type Queryable, quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { claimSteps } from '../../src/engine/sql/dispatch-queries.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, PG_URL, playedWorker, testTasker } from '../helpers.js';

const unused = async () => {
  throw new Error('no worker runs in this test');
};

/** A chain a -> b whose handlers never run (the tests play the worker). */
const chainOfTwo = () =>
  defineTask({
    name: 'chain',
    steps: [
      { name: 'a', handler: unused },
      { name: 'b', dependsOn: ['a'], handler: unused },
    ],
  });

/** Successful outcomes of the steps a worker holds, as finish_steps takes them. */
function outcomesOf(rows: readonly { step_id: number | null; attempt: number | null }[]): string {
  return JSON.stringify(
    rows.map((r) => ({ step_id: r.step_id, attempt: r.attempt, ok: true, results: null })),
  );
}

/** Index scans the current transaction made, by index name. */
async function scansOf(tx: Queryable, schema: string, indexes: readonly string[]) {
  const { rows } = await tx.query<{ name: string; n: number }>(
    `SELECT i AS name, pg_stat_get_xact_numscans(format('%s.%I', $1::text, i)::regclass)::int AS n
       FROM unnest($2::text[]) AS i`,
    [schema, indexes],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

describe.each(BACKENDS)('recording outcomes, on %s', (backend) => {
  test('locks the held steps by id, never by a scan of the running steps', async () => {
    const t = await testTasker(backend);
    t.tasker.register(defineTask({ name: 'single', steps: [{ name: 'x', handler: unused }] }));
    const s = quoteIdent(t.schema);
    const { sql, workerId } = await playedWorker(t, 200);

    // A history: 150 steps leased and finished, then statistics taken while nothing runs.
    await t.tasker.createTasks(Array.from({ length: 150 }, (_, i) => ({ name: 'single', context: { i } })));
    const first = await claimSteps(sql, workerId, null, 150);
    expect(first).toHaveLength(150);
    await t.db.query(`SELECT * FROM ${s}.finish_steps($1, $2::jsonb, 0, NULL, false)`, [
      workerId,
      outcomesOf(first),
    ]);
    await t.db.exec(`ANALYZE ${s}.steps, ${s}.tasks`);

    await t.tasker.createTasks(Array.from({ length: 20 }, (_, i) => ({ name: 'single', context: { i } })));
    const held = await claimSteps(sql, workerId, null, 20);
    expect(held).toHaveLength(20);
    const scans = await t.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ kind: string }>(
        `SELECT kind FROM ${s}.finish_steps($1, $2::jsonb, 0, NULL, false)`,
        [workerId, outcomesOf(held)],
      );
      expect(rows.filter((r) => r.kind === 'task')).toHaveLength(20);
      return scansOf(tx, s, ['steps_running', 'steps_pkey']);
    });
    expect(scans.steps_running).toBe(0);
    expect(scans.steps_pkey).toBeGreaterThan(0);
    expect((await t.tasker.listTasks({ state: 'complete', limit: 200 })).tasks).toHaveLength(170);
  });

  test('starts the children it hands over in line by id, never by a scan of the unfinished steps', async () => {
    const t = await testTasker(backend);
    t.tasker.register(chainOfTwo());
    const s = quoteIdent(t.schema);
    const { sql, workerId } = await playedWorker(t, 200);

    // A history of 100 chains run to the end, a backlog of 100 not started, statistics taken meanwhile.
    await t.tasker.createTasks(Array.from({ length: 200 }, (_, i) => ({ name: 'chain', context: { i } })));
    const first = await claimSteps(sql, workerId, null, 100);
    const { rows: children } = await t.db.query<{ kind: string; step_id: number; attempt: number }>(
      `SELECT kind, step_id, attempt FROM ${s}.finish_steps($1, $2::jsonb, 100, NULL, false)`,
      [workerId, outcomesOf(first)],
    );
    expect(children.filter((r) => r.kind === 'claimed')).toHaveLength(100);
    await t.db.query(`SELECT * FROM ${s}.finish_steps($1, $2::jsonb, 0, NULL, false)`, [
      workerId,
      outcomesOf(children),
    ]);
    await t.db.exec(`ANALYZE ${s}.steps, ${s}.tasks`);

    const held = await claimSteps(sql, workerId, null, 20);
    expect(held.map((r) => r.step_name)).toEqual(Array(20).fill('a'));
    const scans = await t.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ kind: string; step_name: string }>(
        `SELECT kind, step_name FROM ${s}.finish_steps($1, $2::jsonb, 20, NULL, false)`,
        [workerId, outcomesOf(held)],
      );
      expect(rows.filter((r) => r.kind === 'claimed').map((r) => r.step_name)).toEqual(Array(20).fill('b'));
      return scansOf(tx, s, ['steps_unfinished', 'steps_running', 'steps_pkey']);
    });
    expect(scans).toMatchObject({ steps_unfinished: 0, steps_running: 0 });
    expect(scans.steps_pkey).toBeGreaterThan(0);
  });

  test('hands over to children reading them and their tasks by id, with a plan made on near-empty tables', async () => {
    const t = await testTasker(backend);
    t.tasker.register(chainOfTwo());
    const s = quoteIdent(t.schema);
    const { workerId } = await playedWorker(t, 200);
    // One connection, so that the round trip's plans, made once per connection, are made at its first call.
    const db: Database =
      backend === 'postgres'
        ? createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 })
        : t.db;
    try {
      const roundTrip = async (q: Queryable, n: number) => {
        const { rows: held } = await q.query<{ step_id: number; attempt: number }>(
          `SELECT step_id, attempt FROM ${s}.claim_steps($1, NULL, $2)`,
          [workerId, n],
        );
        expect(held).toHaveLength(n);
        const { rows } = await q.query<{ kind: string; step_name: string }>(
          `SELECT kind, step_name FROM ${s}.finish_steps($1, $2::jsonb, $3, NULL, false)`,
          [workerId, outcomesOf(held), n],
        );
        return rows.filter((r) => r.kind === 'claimed').map((r) => r.step_name);
      };
      // The plans are made here, while the tables hold two tasks.
      await t.tasker.createTasks([{ name: 'chain' }, { name: 'chain' }]);
      expect(await roundTrip(db, 2)).toEqual(['b', 'b']);

      await t.tasker.createTasks(Array.from({ length: 10 }, (_, i) => ({ name: 'chain', context: { i } })));
      const scans = await db.transaction(async (tx) => {
        expect(await roundTrip(tx, 10)).toEqual(Array(10).fill('b'));
        return scansOf(tx, s, ['tasks_state', 'steps_unfinished', 'steps_running']);
      });
      expect(scans).toEqual({ tasks_state: 0, steps_unfinished: 0, steps_running: 0 });
    } finally {
      if (db !== t.db) await db.close();
    }
  });
});
