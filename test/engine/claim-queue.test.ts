/**
 * A round trip that records outcomes claims the children they make ready in line, and then from the queue
 * only when the worker may find something there (migration 36, p_claim_queue): a worker whose last claim
 * came back short, with no wake-up since, skips that claim. Played through the dispatch functions, then
 * with a real worker: a step created while the worker was between round trips still runs (its
 * notification wakes the worker).
 */
import { describe, expect, test } from 'vitest';
import { claimSteps, finishSteps } from '../../src/engine/sql/dispatch-queries.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, playedWorker, testTasker } from '../helpers.js';

const unused = async () => {
  throw new Error('no worker runs in this part');
};

describe.each(BACKENDS)('the claim from the queue in a round trip, on %s', (backend) => {
  test('is skipped when the worker says nothing may be ready there; the children still come in line', async () => {
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
    t.tasker.register(defineTask({ name: 'single', steps: [{ name: 'x', handler: unused }] }));
    const [chain] = await t.tasker.createTasks([{ name: 'chain', context: {} }]);
    const { sql, workerId } = await playedWorker(t, 5);
    const [a] = await claimSteps(sql, workerId, null, 1);
    expect(a!.step_name).toBe('a');
    // Ready in the queue after the worker's last claim.
    const [single] = await t.tasker.createTasks([{ name: 'single', context: {} }]);

    const skipped = await finishSteps(
      sql,
      workerId,
      [{ step_id: a!.step_id!, attempt: a!.attempt!, ok: true, results: null }],
      5,
      null,
      false,
    );
    expect(skipped.filter((r) => r.kind === 'claimed').map((r) => [r.task_id, r.step_name])).toEqual([
      [chain!.id, 'b'],
    ]);
    expect((await t.tasker.getTask(single!.id)).steps[0]!.state).toBe('pending');
    expect((await t.tasker.getTask(chain!.id)).state).toBe('in_progress');

    const b = skipped.find((r) => r.kind === 'claimed')!;
    const claimed = await finishSteps(
      sql,
      workerId,
      [{ step_id: b.step_id!, attempt: b.attempt!, ok: true, results: null }],
      5,
      null,
      true,
    );
    expect(claimed.filter((r) => r.kind === 'claimed').map((r) => [r.task_id, r.step_name])).toEqual([
      [single!.id, 'x'],
    ]);
    expect(claimed.filter((r) => r.kind === 'task').map((r) => [r.task_id, r.state])).toEqual([
      [chain!.id, 'complete'],
    ]);
    // The chain's task was started once, by its first step's claim.
    const trail = await t.tasker.getTaskTransitions(chain!.id);
    expect(trail.map((x) => `${x.fromState}>${x.toState}`)).toEqual([
      'pending>in_progress',
      'in_progress>complete',
    ]);
  });

  test('a worker whose claims come back short still runs what is created between its round trips', async () => {
    const t = await testTasker(backend, { execution: { pollIntervalMs: 60_000 } });
    const ran: string[] = [];
    t.tasker.register(
      defineTask({
        name: 'chain',
        steps: [
          { name: 'a', handler: async () => ran.push('a') },
          { name: 'b', dependsOn: ['a'], handler: async () => ran.push('b') },
          { name: 'c', dependsOn: ['b'], handler: async () => ran.push('c') },
        ],
      }),
    );
    const worker = await t.tasker.startWorker({ concurrency: 4 });
    try {
      // One after another, as the idle hand-off benchmark does: each finds a worker whose last claim came
      // back short; its first step is found through the notification, the others in line.
      for (let i = 0; i < 5; i++) {
        const [task] = await t.tasker.createTasks([{ name: 'chain', context: { i } }]);
        expect((await t.tasker.waitForTask(task!.id, { timeoutMs: 10_000 })).state).toBe('complete');
      }
      expect(ran).toEqual(Array.from({ length: 5 }, () => ['a', 'b', 'c']).flat());
    } finally {
      await worker.stop();
    }
  });
});
