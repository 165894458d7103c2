// Events and metrics of the dynamic step kinds: a decision emits step.decided with what it skipped, a
// batch step and a step that starts a child emit step.waiting (and count in tasker_step_waits_total),
// and a step waiting for a signal shows in the tasker_steps_waiting gauge while the concurrency-key
// gauge stays 0.
import { describe, expect, test } from 'vitest';
import { defineTask } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('events and metrics of dynamic steps on %s', (backend) => {
  test('step.decided, step.waiting and the waiting gauges', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(defineTask({ name: 'child', steps: [{ name: 'work', handler: () => ({ ok: 1 }) }] }));
    tasker.register(
      defineTask({
        name: 'parent',
        steps: [
          { name: 'route', kind: 'decision', handler: () => ({ activate: ['fan'] }) },
          {
            name: 'fan',
            dependsOn: ['route'],
            kind: 'batch',
            handler: () => ({ items: [1, 2, 3] }),
            batch: { handler: ({ inputs }) => inputs },
          },
          { name: 'never', dependsOn: ['route'], handler: () => null },
          {
            name: 'spawn',
            dependsOn: ['fan'],
            handler: async ({ startChild }) => (await startChild({ name: 'child', context: {} })).results,
          },
        ],
      }),
    );
    tasker.register(
      defineTask({ name: 'gate', steps: [{ name: 'approval', kind: 'signal', signal: { name: 'go' } }] }),
    );
    const seen: Array<{ name: string; step: string; detail: unknown }> = [];
    tasker.events.on('step.decided', (e) =>
      seen.push({ name: 'decided', step: e.stepName, detail: e.skipped }),
    );
    tasker.events.on('step.waiting', (e) =>
      seen.push({
        name: 'waiting',
        step: e.stepName,
        detail: [e.waitingFor, e.workers, e.childTaskId !== null],
      }),
    );
    await tasker.startWorker();

    const task = await tasker.createTask({ name: 'parent', context: {} });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 15_000 })).state).toBe('complete');
    await new Promise((r) => setTimeout(r, 100)); // events are delivered asynchronously
    expect(seen).toEqual([
      { name: 'decided', step: 'route', detail: ['never'] },
      { name: 'waiting', step: 'fan', detail: ['batch', 3, false] },
      { name: 'waiting', step: 'spawn', detail: ['child', null, false] },
    ]);

    const gate = await tasker.createTask({ name: 'gate', context: {} });
    const deadline = Date.now() + 10_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await tasker.metrics();
      if (/tasker_steps_waiting\{for="signal"\} 1/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toMatch(/tasker_steps_waiting\{for="signal"\} 1/);
    expect(text).toMatch(/tasker_steps_waiting\{for="batch"\} 0/);
    expect(text).toMatch(/tasker_queue_waiting_for_key_steps 0/);
    expect(text).toMatch(
      /tasker_step_waits_total\{namespace="default",name="parent",version="0.1.0",step="fan",for="batch"\} 1/,
    );
    expect(text).toMatch(
      /tasker_decision_skipped_steps_total\{namespace="default",name="parent",version="0.1.0",step="route"\} 1/,
    );
    await tasker.signal(gate.id, 'go', {});
    expect((await tasker.waitForTask(gate.id, { timeoutMs: 15_000 })).state).toBe('complete');
  });
});
