/**
 * Two worker processes share a run of tasks; one is killed with SIGKILL in the middle of its steps.
 * Its steps are taken back once its lease runs out (the other worker's heartbeat reaps them), every task
 * completes, each step's result is recorded once, and a late completion under the lost lease is refused.
 */
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { PG_URL, testTasker } from '../helpers.js';
import { DIST_BUILT, eventually, registerCrashTemplates, startWorkerProcess } from './processes.js';

const describePg = PG_URL && DIST_BUILT ? describe : describe.skip;

describePg('a worker killed with SIGKILL mid-step (PostgreSQL, two processes)', () => {
  test('its steps are claimed again after the lease, every task completes, results are recorded once', async () => {
    const { tasker, schema, db } = await testTasker('postgres');
    registerCrashTemplates(tasker);
    const s = quoteIdent(schema);
    const env = {
      TASKER_URL: PG_URL!,
      TASKER_SCHEMA: schema,
      LEASE_MS: '1500',
      HEARTBEAT_MS: '300',
      CONCURRENCY: '2',
    };
    // A runs two steps normally, then hangs in every step it takes: it is surely mid-step when killed.
    const a = startWorkerProcess({ ...env, HANG_FROM: '3' }, 'A');
    const b = startWorkerProcess(env, 'B');
    try {
      const [aId] = await Promise.all([a.ready, b.ready]);
      const created = await tasker.createTasks(
        Array.from({ length: 10 }, (_, n) => ({
          namespace: 'crash',
          name: 'chain',
          context: { n, sleepMs: 30 },
        })),
      );

      const hung = await eventually('worker A to hang in a step', async () => {
        const { rows } = await db.query<{ step_id: number }>(
          `SELECT step_id FROM ${s}.exec_log WHERE worker = 'A' AND hang ORDER BY step_id`,
        );
        return rows.length > 0 ? rows.map((r) => r.step_id) : undefined;
      });
      a.child.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');

      const done = await Promise.all(created.map((t) => tasker.waitForTask(t.id, { timeoutMs: 15_000 })));
      for (const task of done) {
        expect(task.state).toBe('complete');
        for (const step of task.steps) {
          expect(step.state).toBe('complete');
          expect(step.results).toMatchObject({ step: step.name });
        }
      }

      // Each step completed exactly once in the audit trail.
      const { rows: completions } = await db.query<{ step_id: number; n: number }>(
        `SELECT step_id, count(*)::integer AS n FROM ${s}.step_transitions WHERE to_state = 'complete'
         GROUP BY step_id`,
      );
      expect(completions).toHaveLength(30);
      expect(completions.every((r) => r.n === 1)).toBe(true);

      // Every step A was running when it died was taken back (a charged attempt) and finished by B.
      for (const stepId of hung) {
        const step = await tasker.getStep(stepId);
        expect(step.results).toMatchObject({ worker: 'B' });
        expect(step.totalAttempts).toBeGreaterThanOrEqual(2);
        const trail = await tasker.getStepTransitions(stepId);
        const lost = trail.find((t) => t.fromState === 'in_progress' && t.toState === 'waiting_for_retry');
        expect(lost?.metadata).toMatchObject({ error: { class: 'LeaseExpiredError' } });
      }

      // A late completion from A's lost lease (attempt 1) is refused and changes nothing.
      const victim = hung[0]!;
      const before = await tasker.getStep(victim);
      const { rows: late } = await db.query<{ kind: string; step_id: number }>(
        `SELECT kind, step_id FROM ${s}.finish_steps($1, $2)`,
        [aId, JSON.stringify([{ step_id: victim, attempt: 1, ok: true, results: { late: true } }])],
      );
      expect(late).toEqual([{ kind: 'refused', step_id: victim }]);
      const after = await tasker.getStep(victim);
      expect(after.results).toEqual(before.results);
      expect(after.totalAttempts).toBe(before.totalAttempts);
    } finally {
      a.kill();
      b.child.kill('SIGTERM');
      const exit = await b.exited;
      b.kill();
      expect(exit.code, b.output()).toBe(0);
    }
  });

  test('a step taken back from the killed worker runs before the backlog that became ready after it', async () => {
    const { tasker, schema, db } = await testTasker('postgres');
    registerCrashTemplates(tasker);
    const s = quoteIdent(schema);
    const env = { TASKER_URL: PG_URL!, TASKER_SCHEMA: schema, LEASE_MS: '1500', HEARTBEAT_MS: '300' };
    const concurrencyOfB = 2;
    // A alone first, so that it is A that takes the victim's step (and hangs in it).
    const a = startWorkerProcess({ ...env, CONCURRENCY: '1' }, 'A');
    let b: ReturnType<typeof startWorkerProcess> | undefined;
    try {
      await a.ready;
      const victim = await tasker.createTask({
        namespace: 'crash',
        name: 'single',
        context: { hangIn: 'A' },
      });
      const victimStep = (await tasker.getTask(victim.id)).steps[0]!.id;
      await eventually('worker A to hang in the victim step', async () => {
        const { rows } = await db.query(`SELECT 1 FROM ${s}.exec_log WHERE worker = 'A' AND step_id = $1`, [
          victimStep,
        ]);
        return rows.length > 0 ? true : undefined;
      });
      b = startWorkerProcess({ ...env, CONCURRENCY: String(concurrencyOfB) }, 'B');
      await b.ready;
      // A backlog that became ready after the victim: B needs seconds to get through it.
      const backlog = await tasker.createTasks(
        Array.from({ length: 60 }, (_, n) => ({
          namespace: 'crash',
          name: 'single',
          context: { n, sleepMs: 200 },
        })),
      );
      a.child.kill('SIGKILL');
      const { rows: killed } = await db.query<{ at: Date }>('SELECT clock_timestamp() AS at');
      expect((await a.exited).signal).toBe('SIGKILL');

      const done = await tasker.waitForTask(victim.id, { timeoutMs: 30_000 });
      expect(done.state).toBe('complete');
      await Promise.all(backlog.map((t) => tasker.waitForTask(t.id, { timeoutMs: 60_000 })));

      // When the victim was taken back, and when B claimed it again.
      const trail = await tasker.getStepTransitions(victimStep);
      const reaped = trail.find((t) => t.fromState === 'in_progress' && t.toState === 'waiting_for_retry');
      const reclaimed = trail.find((t) => t.fromState === 'waiting_for_retry' && t.toState === 'in_progress');
      expect(reaped?.metadata).toMatchObject({ error: { class: 'LeaseExpiredError' } });
      expect(reclaimed?.metadata).toMatchObject({ attempt: 2 });
      const { rows: restarted } = await db.query<{ at: Date }>(
        `SELECT at FROM ${s}.exec_log WHERE worker = 'B' AND step_id = $1 AND phase = 'start'`,
        [victimStep],
      );
      const killToRestartMs = restarted[0]!.at.getTime() - killed[0]!.at.getTime();
      console.log(
        `SIGKILL -> the victim step started again: ${killToRestartMs} ms (lease 1500 ms, heartbeat 300 ms, ` +
          `backlog ${backlog.length} steps of 200 ms on ${concurrencyOfB} slots)`,
      );

      // Backlog steps claimed after the take-back but before the victim: at most the claims already in
      // flight when it happened (one per slot of B). Behind the backlog, it would be all that was left.
      const backlogSteps = (await tasker.getStepsOfTasks(backlog.map((t) => t.id))).map((x) => x.id);
      const { rows: claims } = await db.query<{ overtook: number; after: number }>(
        `WITH victim AS (
           SELECT max(created_at) FILTER (WHERE to_state = 'waiting_for_retry') AS reaped,
                  max(created_at) FILTER (WHERE from_state = 'waiting_for_retry') AS reclaimed
             FROM ${s}.step_transitions WHERE step_id = $2)
         SELECT count(*) FILTER (WHERE t.created_at > v.reaped AND t.created_at < v.reclaimed)::integer AS overtook,
                count(*) FILTER (WHERE t.created_at > v.reclaimed)::integer AS after
           FROM ${s}.step_transitions t, victim v WHERE t.step_id = ANY ($1) AND t.to_state = 'in_progress'`,
        [backlogSteps, victimStep],
      );
      expect(claims[0]!.overtook).toBeLessThanOrEqual(concurrencyOfB);
      // The backlog was not used up when the victim came back (else the order would prove nothing).
      expect(claims[0]!.after).toBeGreaterThan(0);
    } finally {
      a.kill();
      if (b) {
        b.child.kill('SIGTERM');
        const exit = await b.exited;
        b.kill();
        expect(exit.code, b.output()).toBe(0);
      }
    }
  });
});
