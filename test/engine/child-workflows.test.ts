// Child workflows: a step starts a child task and completes with its results, holding no worker slot
// and spending no attempt meanwhile; the child records its parent; a failed child fails the step;
// cancelling the parent cancels the child.
import { describe, expect, test } from 'vitest';
import { defineTask } from '../../src/index.js';
import { mapTemplate } from '../../src/templates/map-template.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

describe.each(BACKENDS)('child workflows on %s', (backend) => {
  test('ctx.startChild and kind subtask: the parent step waits without a slot and gets the results', async () => {
    // One slot: while the parent step waits, the child's steps must be able to run.
    const { tasker } = await testTasker(backend, { execution: { concurrency: 1 } });
    let parentRuns = 0;
    tasker.register(
      defineTask({
        namespace: 'shop',
        name: 'ship',
        steps: [
          {
            name: 'label',
            handler: async ({ context }) => (await sleep(100), { label: `L-${context.orderId}` }),
          },
          {
            name: 'pickup',
            dependsOn: ['label'],
            handler: ({ parents }) => ({ ...(parents.label as object), at: 'dock 4' }),
          },
        ],
      }),
    );
    tasker.register(
      defineTask({
        namespace: 'shop',
        name: 'order',
        steps: [
          {
            name: 'ship',
            handler: async ({ context, startChild }) => {
              parentRuns++;
              const child = await startChild({
                namespace: 'shop',
                name: 'ship',
                context: { orderId: context.orderId },
              });
              return { shipped: child.results.pickup };
            },
          },
          // The same, declared: the child's context is the object at context.shipment.
          {
            name: 'ship_again',
            kind: 'subtask',
            subtask: { namespace: 'shop', name: 'ship', context: 'shipment' },
            dependsOn: ['ship'],
          },
        ],
      }),
    );
    await tasker.startWorker();
    const order = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { orderId: 7, shipment: { orderId: 8 } },
    });
    const done = await tasker.waitForTask(order.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    const [ship, again] = done.steps;
    expect(ship!.results).toEqual({ shipped: { label: 'L-7', at: 'dock 4' } });
    expect(again!.results).toMatchObject({ results: { pickup: { label: 'L-8', at: 'dock 4' } } });
    // Ran twice (start, then take the results), counted once.
    expect(parentRuns).toBe(2);
    expect(ship!.attempts).toBe(1);

    const children = (await tasker.listTasks({ namespace: 'shop', name: 'ship' })).tasks;
    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(child.parentTaskId).toBe(order.id);
      expect(child.state).toBe('complete');
    }
    const trail = await tasker.getStepTransitions(ship!.id);
    expect(trail.map((t) => `${t.fromState}>${t.toState}`)).toEqual([
      'pending>in_progress',
      'in_progress>waiting_for_retry',
      'waiting_for_retry>in_progress',
      'in_progress>complete',
    ]);
    expect(trail[1]!.metadata).toMatchObject({ waiting_for: 'child' });
  });

  test('a failed child fails the step; cancelling the parent cancels its children', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'child',
        steps: [
          {
            name: 'work',
            retryable: false,
            handler: async ({ context, signal }) => {
              if (context.fail) throw new Error('child broke');
              await new Promise((resolve) => signal.addEventListener('abort', resolve));
            },
          },
        ],
      }),
    );
    tasker.register(
      defineTask({ name: 'parent', steps: [{ name: 'call', kind: 'subtask', subtask: { name: 'child' } }] }),
    );
    await tasker.startWorker();
    const failing = await tasker.createTask({ name: 'parent', context: { fail: true } });
    const failed = await tasker.waitForTask(failing.id, { timeoutMs: 15_000 });
    expect(failed.state).toBe('error');
    expect(failed.steps[0]!.lastError).toMatchObject({ code: 'CHILD_FAILED' });
    expect(failed.steps[0]!.lastError!.message).toMatch(/^child task \d+ \(default\.child\) ended in error$/);

    const waiting = await tasker.createTask({ name: 'parent', context: { fail: false } });
    let childId = 0;
    for (;;) {
      const kids = (await tasker.listTasks({ name: 'child' })).tasks.filter(
        (t) => t.parentTaskId === waiting.id,
      );
      if (kids[0]?.state === 'in_progress') {
        childId = kids[0].id;
        break;
      }
      await sleep(20);
    }
    await tasker.cancelTask(waiting.id, { reason: 'customer withdrew' });
    expect((await tasker.waitForTask(childId, { timeoutMs: 10_000 })).state).toBe('cancelled');
    const childTrail = await tasker.getTaskTransitions(childId);
    expect(childTrail.at(-1)!.metadata).toMatchObject({
      reason: `its parent task ${waiting.id} was cancelled`,
    });
  });

  test('one handler starting children one after the other waits for each; the child is created by the round trip', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'square',
        steps: [{ name: 'sq', handler: ({ context }) => Number(context.n) ** 2 }],
      }),
    );
    let runs = 0;
    tasker.register(
      defineTask({
        name: 'sum_of_squares',
        steps: [
          {
            name: 'sum',
            handler: async ({ startChild }) => {
              runs++;
              let total = 0;
              for (const n of [1, 2, 3]) {
                total += Number((await startChild({ name: 'square', context: { n } })).results.sq);
              }
              return total;
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const task = await tasker.createTask({ name: 'sum_of_squares', context: {} });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]!.results).toBe(14);
    // One run per child plus the last: each run creates the next child and waits for it.
    expect(runs).toBe(4);
    expect(done.steps[0]!.attempts).toBe(1);
    const children = (await tasker.listTasks({ parentTaskId: task.id, order: 'asc' })).tasks;
    expect(children.map((c) => [c.name, c.state, c.parentStepId])).toEqual([
      ['square', 'complete', done.steps[0]!.id],
      ['square', 'complete', done.steps[0]!.id],
      ['square', 'complete', done.steps[0]!.id],
    ]);
    expect(children.map((c) => c.context)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  test('YAML: kind subtask maps to the same step', () => {
    const mapped = mapTemplate(
      {
        name: 'p',
        step_templates: [{ name: 'call', kind: 'subtask', subtask: { name: 'child', context: 'c' } }],
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition!.steps[0]).toMatchObject({
      kind: 'subtask',
      subtask: { name: 'child', context: 'c' },
    });
  });
});
