/**
 * A child handed on starts in the statement that makes it ready (migration 39): the outcome's round trip
 * writes each child it starts once (one parent fewer and leased, in one update), not twice (ready, then
 * leased), up to the room the worker asked for; the others stay ready for any claimer. The audit trail is
 * the one the long way wrote: pending -> in_progress with the attempt and the worker.
 */
import { describe, expect, test } from 'vitest';
import { type Queryable, quoteIdent } from '../../src/db/database.js';
import { claimSteps } from '../../src/engine/sql/dispatch-queries.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, playedWorker, testTasker } from '../helpers.js';

const unused = async () => {
  throw new Error('no worker runs in this test');
};

/** Rows the current transaction updated (or locked) in a table. */
async function updatesOf(tx: Queryable, schema: string, table: string): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT pg_stat_get_xact_tuples_updated(format('%s.%I', $1::text, $2::text)::regclass)::int AS n`,
    [schema, table],
  );
  return rows[0]!.n;
}

describe.each(BACKENDS)('children started in the hand-off, on %s', (backend) => {
  test('leases as many children as there is room for, each written once; the others stay ready', async () => {
    const t = await testTasker(backend);
    t.tasker.register(
      defineTask({
        name: 'fan-out',
        steps: [
          { name: 'a', handler: unused },
          { name: 'b', dependsOn: ['a'], handler: unused },
          { name: 'c', dependsOn: ['a'], handler: unused },
          { name: 'd', dependsOn: ['a'], handler: unused },
        ],
      }),
    );
    const s = quoteIdent(t.schema);
    const { sql, workerId } = await playedWorker(t, 2);
    const [task] = await t.tasker.createTasks([{ name: 'fan-out', context: { n: 1 } }]);
    const [a] = await claimSteps(sql, workerId, null, 1);
    expect(a?.step_name).toBe('a');

    const { rows, updates } = await t.db.transaction(async (tx) => {
      const result = await tx.query<{
        kind: string;
        step_name: string;
        attempt: number;
        parent_results: unknown;
      }>(
        `SELECT kind, step_name, attempt, parent_results FROM ${s}.finish_steps($1, $2::jsonb, 2, NULL, false)`,
        [
          workerId,
          JSON.stringify([{ step_id: a!.step_id, attempt: a!.attempt, ok: true, results: { v: 7 } }]),
        ],
      );
      return { rows: result.rows, updates: await updatesOf(tx, s, 'steps') };
    });
    // b and c (the first two by id) come back leased, with their parent's results.
    expect(rows).toEqual([
      { kind: 'claimed', step_name: 'b', attempt: 1, parent_results: { a: { v: 7 } } },
      { kind: 'claimed', step_name: 'c', attempt: 1, parent_results: { a: { v: 7 } } },
    ]);
    // a locked and completed (2: these statistics count a row lock as an update), b and c made ready and
    // leased (1 each), d made ready (1). The long way made 7: b and c were written twice.
    expect(updates).toBe(5);

    const { rows: steps } = await t.db.query<{ name: string; state: string; worker_id: string | null }>(
      `SELECT name, state, worker_id FROM ${s}.steps WHERE task_id = $1 ORDER BY position`,
      [task!.id],
    );
    expect(steps).toEqual([
      { name: 'a', state: 'complete', worker_id: workerId },
      { name: 'b', state: 'in_progress', worker_id: workerId },
      { name: 'c', state: 'in_progress', worker_id: workerId },
      { name: 'd', state: 'pending', worker_id: null },
    ]);
    const { rows: audit } = await t.db.query<{
      name: string;
      from_state: string;
      to_state: string;
      metadata: unknown;
    }>(
      `SELECT s.name, x.from_state, x.to_state, x.metadata FROM ${s}.step_transitions x
         JOIN ${s}.steps s ON s.id = x.step_id
        WHERE s.task_id = $1 AND s.name IN ('b', 'c', 'd') ORDER BY s.position, x.sort_key`,
      [task!.id],
    );
    expect(audit).toEqual(
      ['b', 'c'].map((name) => ({
        name,
        from_state: 'pending',
        to_state: 'in_progress',
        metadata: { attempt: 1, worker_id: workerId },
      })),
    );

    // d was left ready for any claimer.
    const other = await playedWorker(t, 1);
    const [d] = await claimSteps(other.sql, other.workerId, null, 1);
    expect(d?.step_name).toBe('d');
  });

  test('starts nothing when the round trip asks for no steps', async () => {
    const t = await testTasker(backend);
    t.tasker.register(
      defineTask({
        name: 'chain',
        steps: [
          { name: 'a', handler: unused },
          { name: 'b', dependsOn: ['a'], handler: unused },
        ],
      }),
    );
    const s = quoteIdent(t.schema);
    const { sql, workerId } = await playedWorker(t, 1);
    await t.tasker.createTasks([{ name: 'chain', context: {} }]);
    const [a] = await claimSteps(sql, workerId, null, 1);
    const { rows } = await t.db.query<{ kind: string }>(
      `SELECT kind FROM ${s}.finish_steps($1, $2::jsonb, 0, NULL, false)`,
      [workerId, JSON.stringify([{ step_id: a!.step_id, attempt: a!.attempt, ok: true, results: null }])],
    );
    expect(rows).toEqual([]);
    const [b] = await claimSteps(sql, workerId, null, 1);
    expect(b).toMatchObject({ step_name: 'b', attempt: 1 });
  });
});
