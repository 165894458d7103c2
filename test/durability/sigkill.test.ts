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
});
