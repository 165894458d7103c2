/**
 * Losing the database mid-run: the test terminates every backend of a worker process (its pool and its
 * LISTEN connection) several times while tasks run. The worker reconnects, re-sends the outcomes it had
 * not recorded yet (fenced by their leases, so sending twice is safe), LISTENs again, and every task
 * completes with each step's result recorded once.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { PG_URL, testTasker } from '../helpers.js';
import { DIST_BUILT, eventually, registerCrashTemplates, startWorkerProcess } from './processes.js';

const describePg = PG_URL && DIST_BUILT ? describe : describe.skip;

function withApplicationName(url: string, name: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}application_name=${name}`;
}

describePg('a worker that loses its database connections (PostgreSQL)', () => {
  test('reconnects, listens again, and loses nothing', async () => {
    const { tasker, schema, db } = await testTasker('postgres');
    registerCrashTemplates(tasker);
    const s = quoteIdent(schema);
    const appName = `tasker-cut-${randomBytes(4).toString('hex')}`;
    const w = startWorkerProcess(
      {
        TASKER_URL: withApplicationName(PG_URL!, appName),
        TASKER_SCHEMA: schema,
        LEASE_MS: '3000',
        HEARTBEAT_MS: '300',
        // No fallback poll during the test: new work can only be noticed through LISTEN.
        POLL_MS: '600000',
        CONCURRENCY: '4',
        TASKER_LOG_LEVEL: 'warn',
      },
      'W',
    );
    const terminate = async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::integer AS n
         FROM pg_stat_activity WHERE application_name = $1`,
        [appName],
      );
      return rows[0]!.n;
    };
    const executions = async () => {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${s}.exec_log`);
      return rows[0]!.n;
    };
    try {
      await w.ready;
      const created = await tasker.createTasks(
        Array.from({ length: 15 }, (_, n) => ({
          namespace: 'crash',
          name: 'chain',
          context: { n, sleepMs: 40 },
        })),
      );
      let killed = 0;
      for (let round = 1; round <= 3; round++) {
        await eventually(`round ${round} of executions`, async () =>
          (await executions()) >= round * 12 ? true : undefined,
        );
        killed += await terminate();
      }
      expect(killed).toBeGreaterThanOrEqual(3);

      const done = await Promise.all(created.map((t) => tasker.waitForTask(t.id, { timeoutMs: 20_000 })));
      for (const task of done) {
        expect(task.state).toBe('complete');
        for (const step of task.steps) expect(step.results).toMatchObject({ step: step.name });
      }
      const { rows: completions } = await db.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM ${s}.step_transitions WHERE to_state = 'complete' GROUP BY step_id`,
      );
      expect(completions).toHaveLength(45);
      expect(completions.every((r) => r.n === 1)).toBe(true);

      // LISTEN is back: with no fallback poll, a new task runs only if its notification arrives.
      await eventually('the worker to listen again', async () => {
        const { rows } = await db.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
          [appName],
        );
        return rows.length > 0 ? true : undefined;
      });
      // The worker process is still there: losing every connection at once must not end it.
      expect(w.child.exitCode, w.output()).toBeNull();
      const after = await tasker.createTask({ namespace: 'crash', name: 'single', context: { sleepMs: 1 } });
      expect((await tasker.waitForTask(after.id, { timeoutMs: 10_000 })).state).toBe('complete');
    } catch (error) {
      // What was stuck, and what the worker said, make a failure here diagnosable.
      const { rows: stuck } = await db.query(
        `SELECT id, task_id, name, state, attempts, worker_id FROM ${s}.steps WHERE state <> 'complete' ORDER BY id`,
      );
      const { rows: backends } = await db.query(
        `SELECT pid, state, left(query, 60) AS query, backend_start FROM pg_stat_activity WHERE application_name = $1`,
        [appName],
      );
      throw new Error(
        `${String(error)}\nbackends: ${JSON.stringify(backends)}\nunfinished steps: ${JSON.stringify(stuck)}\nworker output:\n${w.output()}`,
      );
    } finally {
      w.child.kill('SIGTERM');
      const exit = await w.exited;
      w.kill();
      expect(exit.code, w.output()).toBe(0);
    }
  });
});
