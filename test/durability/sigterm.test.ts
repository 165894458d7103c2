/**
 * SIGTERM on a worker process (closeOnSignals): it stops claiming, lets running steps finish up to the
 * shutdown limit, releases the rest without charging an attempt, and exits 0. A released step is
 * claimable at once by another worker (long before the stopped worker's lease would have run out).
 */
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { PG_URL, testTasker } from '../helpers.js';
import { DIST_BUILT, eventually, registerCrashTemplates, startWorkerProcess } from './processes.js';

const describePg = PG_URL && DIST_BUILT ? describe : describe.skip;

describePg('a worker process stopped with SIGTERM (PostgreSQL)', () => {
  test('finishes what it can within the limit, releases the rest, exits 0', async () => {
    const { tasker, schema, db } = await testTasker('postgres');
    registerCrashTemplates(tasker);
    const s = quoteIdent(schema);
    const base = { TASKER_URL: PG_URL!, TASKER_SCHEMA: schema, CONCURRENCY: '4' };
    // A 20 s lease: if A did not release its step, nobody could take it during this test.
    const a = startWorkerProcess(
      { ...base, LEASE_MS: '20000', HEARTBEAT_MS: '5000', SHUTDOWN_MS: '1500' },
      'A',
    );
    let b: ReturnType<typeof startWorkerProcess> | undefined;
    try {
      await a.ready;
      const quick = await tasker.createTask({
        namespace: 'crash',
        name: 'single',
        context: { sleepMs: 600 },
      });
      const stuck = await tasker.createTask({ namespace: 'crash', name: 'single', context: { hangIn: 'A' } });
      await eventually('A to start both steps', async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::integer AS n FROM ${s}.exec_log WHERE worker = 'A' AND phase = 'start'`,
        );
        return rows[0]!.n >= 2 ? true : undefined;
      });

      a.child.kill('SIGTERM');
      await eventually('A to start stopping', async () =>
        a.output().includes('"stopping"') ? true : undefined,
      );
      const late = await tasker.createTask({ namespace: 'crash', name: 'single', context: { sleepMs: 10 } });
      const exit = await a.exited;
      expect(exit, a.output()).toEqual({ code: 0, signal: null });

      // The running step that could finish within the limit did, recorded by A.
      const quickTask = await tasker.getTask(quick.id);
      expect(quickTask.state).toBe('complete');
      expect(quickTask.steps[0]!.results).toMatchObject({ worker: 'A', attempt: 1 });

      // The one that could not was released: ready now, no attempt charged.
      const [stuckStep] = (await tasker.getTask(stuck.id)).steps;
      expect(stuckStep!.state).toBe('waiting_for_retry');
      expect(stuckStep!.totalAttempts).toBe(0);
      const trail = await tasker.getStepTransitions(stuckStep!.id);
      expect(trail.at(-1)).toMatchObject({
        fromState: 'in_progress',
        toState: 'waiting_for_retry',
        metadata: { released: true },
      });

      // A claimed nothing after the signal.
      const { rows: lateRuns } = await db.query(`SELECT 1 FROM ${s}.exec_log WHERE task_id = $1`, [late.id]);
      expect(lateRuns).toHaveLength(0);
      expect((await tasker.getTask(late.id)).steps[0]!.state).toBe('pending');
      const { rows: workers } = await db.query<{ stop_reason: string }>(
        `SELECT stop_reason FROM ${s}.workers WHERE name = 'A'`,
      );
      expect(workers).toEqual([{ stop_reason: 'stopped' }]);

      // Another worker takes the released step at once and runs the rest.
      b = startWorkerProcess({ ...base, LEASE_MS: '3000', HEARTBEAT_MS: '500' }, 'B');
      const [stuckDone, lateDone] = await Promise.all([
        tasker.waitForTask(stuck.id, { timeoutMs: 10_000 }),
        tasker.waitForTask(late.id, { timeoutMs: 10_000 }),
      ]);
      expect(stuckDone.state).toBe('complete');
      expect(stuckDone.steps[0]!.results).toMatchObject({ worker: 'B', attempt: 1 });
      expect(lateDone.state).toBe('complete');
    } finally {
      a.kill();
      if (b) {
        b.child.kill('SIGTERM');
        await b.exited;
        b.kill();
      }
    }
  });
});
