/**
 * A task finishes in the UPDATE that counts its last step (migration 33), but only a task that was seen
 * started: the claim starts tasks with SKIP LOCKED, so a task whose row another transaction held at that
 * moment stays pending while its step runs. Recording that step's outcome must still start the task and
 * then finish it, with both audit rows; and a child handed over in line (migration 36 skips starting the
 * task of such a child only when it is in progress) must start it too. PostgreSQL only: it takes two
 * connections at once.
 */
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { claimSteps, finishSteps } from '../../src/engine/sql/dispatch-queries.js';
import { defineTask } from '../../src/index.js';
import { PG_URL, playedWorker, testTasker } from '../helpers.js';

describe.skipIf(!PG_URL)('a task never seen started', () => {
  test('is started, then finished, by the outcome of its last step', async () => {
    const t = await testTasker('postgres');
    t.tasker.register(defineTask({ name: 'one', steps: [{ name: 'only', handler: async () => ({}) }] }));
    const [task] = await t.tasker.createTasks([{ name: 'one', context: {} }]);
    const { sql, workerId } = await playedWorker(t);
    const tasks = `${quoteIdent(t.schema)}.tasks`;

    // Another transaction holds the task's row while the step is claimed: the claim leaves it pending.
    const claimed = await t.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ${tasks} WHERE id = $1 FOR UPDATE`, [task!.id]);
      return claimSteps(sql, workerId, null, 1);
    });
    expect(claimed.map((r) => [r.kind, r.task_id])).toEqual([['claimed', task!.id]]);
    const pending = await t.db.query<{ state: string }>(`SELECT state FROM ${tasks} WHERE id = $1`, [
      task!.id,
    ]);
    expect(pending.rows[0]!.state).toBe('pending');

    const rows = await finishSteps(
      sql,
      workerId,
      [{ step_id: claimed[0]!.step_id!, attempt: claimed[0]!.attempt!, ok: true, results: { done: 1 } }],
      0,
      null,
    );
    expect(rows.filter((r) => r.kind === 'task').map((r) => [r.task_id, r.state])).toEqual([
      [task!.id, 'complete'],
    ]);
    const after = await t.tasker.getTask(task!.id);
    expect(after.state).toBe('complete');
    const trail = await t.tasker.getTaskTransitions(task!.id);
    expect(trail.map((x) => `${x.fromState}>${x.toState}`)).toEqual([
      'pending>in_progress',
      'in_progress>complete',
    ]);
  });

  test('is started by a child its parent hands over in line (its task known started only when it is)', async () => {
    const t = await testTasker('postgres');
    t.tasker.register(
      defineTask({
        name: 'two',
        steps: [
          { name: 'first', handler: async () => ({}) },
          { name: 'second', dependsOn: ['first'], handler: async () => ({}) },
        ],
      }),
    );
    const [task] = await t.tasker.createTasks([{ name: 'two', context: {} }]);
    const { sql, workerId } = await playedWorker(t, 2);
    const tasks = `${quoteIdent(t.schema)}.tasks`;
    const claimed = await t.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ${tasks} WHERE id = $1 FOR UPDATE`, [task!.id]);
      return claimSteps(sql, workerId, null, 1);
    });
    expect(claimed.map((r) => [r.kind, r.step_name])).toEqual([['claimed', 'first']]);

    // The outcome hands the second step over in line; its task was never started, so it starts now.
    const rows = await finishSteps(
      sql,
      workerId,
      [{ step_id: claimed[0]!.step_id!, attempt: claimed[0]!.attempt!, ok: true, results: null }],
      1,
      null,
      false,
    );
    expect(rows.filter((r) => r.kind === 'claimed').map((r) => r.step_name)).toEqual(['second']);
    expect((await t.tasker.getTask(task!.id)).state).toBe('in_progress');
    const trail = await t.tasker.getTaskTransitions(task!.id);
    expect(trail.map((x) => `${x.fromState}>${x.toState}`)).toEqual(['pending>in_progress']);
  });
});
