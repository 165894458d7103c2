/**
 * Lease fencing at the SQL level, on both backends: an outcome is recorded only under the lease it was
 * claimed with (same worker, same attempt). Also: a claim whose reply never reached its worker is
 * released by that worker's next heartbeat instead of staying leased for as long as the worker lives.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, pgliteForFile, testTasker } from '../helpers.js';

interface Row {
  kind: string;
  step_id: number | null;
  attempt: number | null;
  state: string | null;
}

async function setup(backend: (typeof BACKENDS)[number]) {
  const { tasker, schema, db } = await testTasker(backend, {
    execution: { leaseMs: 1000, heartbeatIntervalMs: 200 },
  });
  tasker.register(
    defineTask({
      namespace: 'fence',
      name: 'one',
      version: '1.0.0',
      steps: [{ name: 'only', handler: async () => 'ran', retryLimit: 3 }],
    }),
  );
  const task = await tasker.createTask({ namespace: 'fence', name: 'one', context: {} });
  const stepId = (await tasker.getTask(task.id)).steps[0]!.id;
  const s = quoteIdent(schema);
  const register = async () => {
    const id = randomUUID();
    await db.query(`SELECT ${s}.register_worker($1, 'w', 'host', 1, 1, NULL, 1000)`, [id]);
    return id;
  };
  const claim = async (workerId: string) =>
    (
      await db.query<Row>(`SELECT kind, step_id, attempt, state FROM ${s}.claim_steps($1, NULL, 1)`, [
        workerId,
      ])
    ).rows;
  const finish = async (workerId: string, attempt: number, results: unknown) =>
    (
      await db.query<Row>(`SELECT kind, step_id, attempt, state FROM ${s}.finish_steps($1, $2)`, [
        workerId,
        JSON.stringify([{ step_id: stepId, attempt, ok: true, results }]),
      ])
    ).rows;
  return { tasker, db, s, task, stepId, register, claim, finish };
}

// Start this file's embedded database before the first test: on a busy machine its start-up alone can
// take most of a test's time budget.
beforeAll(async () => {
  if (BACKENDS.includes('pglite')) await pgliteForFile();
}, 180_000);

describe.each(BACKENDS)('lease fencing (%s)', (backend) => {
  test('only the current lease (worker and attempt) can record an outcome', async () => {
    const { tasker, db, s, task, stepId, register, claim, finish } = await setup(backend);
    const w1 = await register();
    const w2 = await register();

    expect(await claim(w1)).toEqual([{ kind: 'claimed', step_id: stepId, attempt: 1, state: 'in_progress' }]);
    // Another worker cannot finish a step it does not hold.
    expect(await finish(w2, 1, { by: 'w2' })).toEqual([
      { kind: 'refused', step_id: stepId, attempt: null, state: null },
    ]);

    // w1 stops heartbeating: its step is taken back (a charged attempt) and claimed by w2.
    await db.query(`UPDATE ${s}.workers SET last_heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [
      w1,
    ]);
    const { rows: reaped } = await db.query<{ n: number }>(`SELECT ${s}.reap_lost_steps() AS n`);
    expect(reaped[0]!.n).toBe(1);
    expect(await claim(w2)).toEqual([{ kind: 'claimed', step_id: stepId, attempt: 2, state: 'in_progress' }]);

    // The late completion of the lost lease, and a stale attempt from the new holder, are refused.
    expect((await finish(w1, 1, { by: 'w1, late' }))[0]!.kind).toBe('refused');
    expect((await finish(w2, 1, { by: 'w2, stale attempt' }))[0]!.kind).toBe('refused');
    const held = await tasker.getStep(stepId);
    expect(held.state).toBe('in_progress');
    expect(held.results).toBeNull();

    // The current lease completes the step and its task.
    const done = await finish(w2, 2, { by: 'w2' });
    expect(done).toContainEqual({ kind: 'task', step_id: null, attempt: null, state: 'complete' });
    const final = await tasker.getTask(task.id);
    expect(final.state).toBe('complete');
    expect(final.steps[0]!.results).toEqual({ by: 'w2' });
    const trail = await tasker.getStepTransitions(stepId);
    expect(trail.map((t) => `${t.fromState}>${t.toState}`)).toEqual([
      'pending>in_progress',
      'in_progress>waiting_for_retry',
      'waiting_for_retry>in_progress',
      'in_progress>complete',
    ]);
    expect(trail[1]!.metadata).toMatchObject({ error: { class: 'LeaseExpiredError' } });
  });

  test('a claim its worker never heard of is released by that worker, unrun and uncharged', async () => {
    const { tasker, db, s, stepId, register, claim } = await setup(backend);
    const w = await register();
    await claim(w); // the reply "is lost": the worker runs nothing
    const release = async (known: number[], minAgeMs: number) =>
      (
        await db.query<{ n: number }>(`SELECT ${s}.release_unknown_steps($1, $2, $3) AS n`, [
          w,
          known,
          minAgeMs,
        ])
      ).rows[0]!.n;
    expect(await release([stepId], 0)).toBe(0); // known to the worker: kept
    expect(await release([], 60_000)).toBe(0); // too recent: its reply may still be on the way
    expect(await release([], 0)).toBe(1);
    const step = await tasker.getStep(stepId);
    expect(step.state).toBe('waiting_for_retry');
    expect(step.totalAttempts).toBe(0);
  });

  test('a running worker releases a claim made under its name that it never received', async () => {
    const { tasker, db, s, task, stepId } = await setup(backend);
    tasker.register(
      defineTask({
        namespace: 'other',
        name: 'idle',
        version: '1.0.0',
        steps: [{ name: 'x', handler: async () => 1 }],
      }),
    );
    // This worker does not serve the fence template, so it never claims the step by itself.
    const worker = await tasker.startWorker({ namespaces: ['other'] });
    const { rows } = await db.query<{ named_task_id: number }>(
      `SELECT named_task_id FROM ${s}.steps WHERE id = $1`,
      [stepId],
    );
    // The claim commits under the worker's id, but its reply "is lost": the worker runs nothing.
    await db.query(`SELECT * FROM ${s}.claim_steps($1, $2, 1)`, [worker.id, [rows[0]!.named_task_id]]);
    await db.query(`UPDATE ${s}.steps SET last_attempted_at = now() - interval '1 hour' WHERE id = $1`, [
      stepId,
    ]);

    const deadline = Date.now() + 15_000;
    while ((await tasker.getStep(stepId)).state === 'in_progress' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const released = await tasker.getStep(stepId);
    expect(released).toMatchObject({ state: 'waiting_for_retry', totalAttempts: 0 });
    expect((await tasker.getStepTransitions(stepId)).at(-1)!.metadata).toMatchObject({
      released: true,
      reason: expect.stringContaining('never received'),
    });

    // And it is claimable at once by a worker that serves it.
    await tasker.startWorker({ namespaces: ['fence'] });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]!.results).toBe('ran');
  });
});
