/**
 * Introspection (reference section 3) at each point of a diamond's life, driven step by step through
 * the dispatch functions (no worker: the test plays the worker), so every value is known exactly.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask, type Tasker } from '../../src/index.js';
import { BACKENDS, pgliteForFile, testTasker } from '../helpers.js';

const unused = async () => {
  throw new Error('no worker runs in these tests');
};

async function setup(backend: (typeof BACKENDS)[number]) {
  const { tasker, db, schema } = await testTasker(backend);
  tasker.register(
    defineTask({
      namespace: 'intro',
      name: 'diamond',
      version: '1.0.0',
      steps: [
        { name: 'a', handler: unused },
        { name: 'b', dependsOn: ['a'], handler: unused, retryLimit: 2 },
        { name: 'c', dependsOn: ['a'], handler: unused },
        { name: 'd', dependsOn: ['b', 'c'], handler: unused },
      ],
    }),
  );
  const s = quoteIdent(schema);
  const worker = randomUUID();
  await db.query(`SELECT ${s}.register_worker($1, 'test', 'host', 1, 4, NULL, 60000)`, [worker]);
  const claim = async (limit: number) => {
    const { rows } = await db.query<{ step_name: string; step_id: number; attempt: number }>(
      `SELECT step_name, step_id, attempt FROM ${s}.claim_steps($1, NULL, $2) WHERE kind = 'claimed'`,
      [worker, limit],
    );
    return Object.fromEntries(rows.map((r) => [r.step_name, r]));
  };
  const finish = async (outcomes: object[]) => {
    await db.query(`SELECT * FROM ${s}.finish_steps($1, $2)`, [worker, JSON.stringify(outcomes)]);
  };
  return { tasker, db, claim, finish };
}

async function readiness(tasker: Tasker, taskId: number) {
  return Object.fromEntries((await tasker.stepReadiness(taskId)).map((r) => [r.name, r]));
}

// Start this file's embedded database before the first test: on a busy machine its start-up alone can
// take most of a test's time budget.
beforeAll(async () => {
  if (BACKENDS.includes('pglite')) await pgliteForFile();
}, 180_000);

describe.each(BACKENDS)('introspection (%s)', (backend) => {
  test('readiness, execution context and health through a diamond with a retry and a failure', async () => {
    const { tasker, claim, finish } = await setup(backend);
    const { id } = await tasker.createTask({ namespace: 'intro', name: 'diamond', context: {} });

    // Fresh: only the root is ready.
    let r = await readiness(tasker, id);
    expect(r.a).toMatchObject({
      currentState: 'pending',
      dependenciesSatisfied: true,
      retryEligible: true,
      readyForExecution: true,
      totalParents: 0,
      completedParents: 0,
      attempts: 0,
      retryLimit: 3,
      lastFailureAt: null,
      nextRetryAt: null,
    });
    expect(r.d).toMatchObject({ dependenciesSatisfied: false, readyForExecution: false, totalParents: 2 });
    expect(await tasker.executionContext(id)).toMatchObject({
      taskId: id,
      status: 'pending',
      totalSteps: 4,
      pendingSteps: 4,
      inProgressSteps: 0,
      completedSteps: 0,
      failedSteps: 0,
      readySteps: 1,
      executionStatus: 'has_ready_steps',
      recommendedAction: 'execute_ready_steps',
      completionPercentage: 0,
      healthStatus: 'healthy',
    });

    // The root runs: processing.
    const { a } = await claim(1);
    expect(await tasker.executionContext(id)).toMatchObject({
      status: 'in_progress',
      inProgressSteps: 1,
      readySteps: 0,
      executionStatus: 'processing',
      recommendedAction: 'wait_for_completion',
    });

    // The root completes: both branches are ready, a quarter is done.
    await finish([{ step_id: a!.step_id, attempt: a!.attempt, ok: true, results: 1 }]);
    r = await readiness(tasker, id);
    expect(r.b).toMatchObject({ dependenciesSatisfied: true, completedParents: 1, readyForExecution: true });
    expect(r.d).toMatchObject({ completedParents: 0, readyForExecution: false });
    expect(await tasker.executionContext(id)).toMatchObject({
      readySteps: 2,
      completedSteps: 1,
      executionStatus: 'has_ready_steps',
      completionPercentage: 25,
    });

    // b fails with a minute of backoff, c is still running: recovering.
    const { b, c } = await claim(2);
    await finish([
      {
        step_id: b!.step_id,
        attempt: b!.attempt,
        ok: false,
        retry_delay_ms: 60_000,
        error: { class: 'RetryableError', message: 'later' },
      },
    ]);
    r = await readiness(tasker, id);
    expect(r.b).toMatchObject({
      currentState: 'waiting_for_retry',
      retryEligible: true,
      readyForExecution: false,
      attempts: 1,
      retryLimit: 2,
      backoffRequestSeconds: 60,
    });
    expect(r.b!.lastFailureAt).toBeInstanceOf(Date);
    expect(r.b!.nextRetryAt!.getTime()).toBeGreaterThan(r.b!.lastFailureAt!.getTime() + 50_000);
    expect(await tasker.executionContext(id)).toMatchObject({
      pendingSteps: 2,
      inProgressSteps: 1,
      executionStatus: 'processing',
      healthStatus: 'recovering',
    });

    // c fails for good: nothing ready, nothing running, a failure: blocked.
    await finish([
      {
        step_id: c!.step_id,
        attempt: c!.attempt,
        ok: false,
        permanent: true,
        error: { class: 'PermanentError', message: 'no' },
      },
    ]);
    r = await readiness(tasker, id);
    expect(r.c).toMatchObject({ currentState: 'error', retryEligible: false, readyForExecution: false });
    expect(await tasker.executionContext(id)).toMatchObject({
      failedSteps: 1,
      readySteps: 0,
      inProgressSteps: 0,
      executionStatus: 'blocked_by_failures',
      recommendedAction: 'handle_failures',
      completionPercentage: 25,
      healthStatus: 'blocked',
    });
  });

  test('a finished task is all_complete at 100%, a cancelled one says so', async () => {
    const { tasker, claim, finish } = await setup(backend);
    const { id } = await tasker.createTask({ namespace: 'intro', name: 'diamond', context: {} });
    for (let round = 0; round < 3; round++) {
      const claimed = Object.values(await claim(2));
      await finish(claimed.map((x) => ({ step_id: x.step_id, attempt: x.attempt, ok: true, results: null })));
    }
    expect(await tasker.executionContext(id)).toMatchObject({
      status: 'complete',
      completedSteps: 4,
      executionStatus: 'all_complete',
      recommendedAction: 'finalize_task',
      completionPercentage: 100,
      healthStatus: 'healthy',
    });

    const other = await tasker.createTask({ namespace: 'intro', name: 'diamond', context: {} });
    await tasker.cancelTask(other.id);
    expect(await tasker.executionContext(other.id)).toMatchObject({
      status: 'cancelled',
      executionStatus: 'cancelled',
      recommendedAction: 'none',
    });
  });

  test('dependency levels: 0 for roots, the longest path otherwise', async () => {
    const { tasker } = await setup(backend);
    tasker.register(
      defineTask({
        namespace: 'intro',
        name: 'mixed',
        version: '1.0.0',
        steps: [
          { name: 'root', handler: unused },
          { name: 'other_root', handler: unused },
          { name: 'mid', dependsOn: ['root'], handler: unused },
          // Two paths from root: directly (level 1) and through mid (level 2): the longest wins.
          { name: 'join', dependsOn: ['root', 'mid', 'other_root'], handler: unused },
        ],
      }),
    );
    const diamondTask = await tasker.createTask({ namespace: 'intro', name: 'diamond', context: {} });
    const mixedTask = await tasker.createTask({ namespace: 'intro', name: 'mixed', context: {} });
    const byName = async (taskId: number) => {
      const levels = await tasker.dependencyLevels(taskId);
      const steps = (await tasker.getTask(taskId)).steps;
      return Object.fromEntries(steps.map((s) => [s.name, levels.get(s.id)]));
    };
    expect(await byName(diamondTask.id)).toEqual({ a: 0, b: 1, c: 1, d: 2 });
    expect(await byName(mixedTask.id)).toEqual({ root: 0, other_root: 0, mid: 1, join: 2 });
  });
});
