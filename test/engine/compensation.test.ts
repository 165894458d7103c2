// Compensation: when a task fails for good, the undo steps of the steps that completed run as a chain
// (the step completed last undone first) and the failure handler runs beside them, each with the
// failure and the completed steps' results; the task stays failed; an undo that fails stops the chain
// but not the failure handler; a task that completes compensates nothing; bad declarations are refused
// naming the field.
import { describe, expect, test } from 'vitest';
import {
  type CompensationInputs,
  defineTask,
  PermanentError,
  type Tasker,
  type TaskWithSteps,
} from '../../src/index.js';
import { mapTemplate } from '../../src/templates/map-template.js';
import { BACKENDS, testTasker } from '../helpers.js';

/** The task once its compensation steps (if any) have all finished. */
async function settled(tasker: Tasker, taskId: number): Promise<TaskWithSteps> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const task = await tasker.getTask(taskId);
    const open = task.steps.filter(
      (s) =>
        s.compensation !== null &&
        !s.blocked &&
        ['pending', 'in_progress', 'waiting_for_retry'].includes(s.state),
    );
    if (task.state === 'error' && open.length === 0) return task;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} did not settle: ${JSON.stringify(task.steps)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function orderWorkflow(calls: string[], options: { refundFails?: boolean } = {}) {
  const record = (name: string) => (ctx: { inputs: unknown }) => {
    calls.push(name);
    return { did: name, saw: ctx.inputs };
  };
  return defineTask({
    name: 'order',
    onFailure: 'notify_ops',
    steps: [
      { name: 'reserve', handler: record('reserve'), undo: 'release' },
      { name: 'charge', dependsOn: ['reserve'], handler: record('charge'), undo: 'refund' },
      {
        name: 'ship',
        dependsOn: ['charge'],
        undo: 'unship',
        handler: () => {
          calls.push('ship');
          throw new PermanentError('carrier refused the parcel', { code: 'CARRIER_REFUSED' });
        },
      },
      { name: 'release', kind: 'compensation', handler: record('release') },
      {
        name: 'refund',
        kind: 'compensation',
        retryLimit: 2,
        handler: (ctx) => {
          calls.push('refund');
          if (options.refundFails) throw new PermanentError('the payment provider is down');
          return { did: 'refund', saw: ctx.inputs };
        },
      },
      { name: 'unship', kind: 'compensation', handler: record('unship') },
      { name: 'notify_ops', kind: 'compensation', handler: record('notify_ops') },
    ],
  });
}

describe.each(BACKENDS)('compensation on %s', (backend) => {
  test('undo steps run last-completed first, the failure handler beside them, the task stays failed', async () => {
    const { tasker } = await testTasker(backend);
    const calls: string[] = [];
    tasker.register(orderWorkflow(calls));
    await tasker.startWorker();
    const created = await tasker.createTask({ name: 'order', context: { orderId: 7 } });
    expect((await tasker.waitForTask(created.id, { timeoutMs: 15_000 })).state).toBe('error');
    const task = await settled(tasker, created.id);

    expect(task.state).toBe('error');
    const byName = new Map(task.steps.map((s) => [s.name, s]));
    // Only the steps that completed are undone; ship failed, so unship is never created.
    expect([...byName.keys()].sort()).toEqual(
      ['charge', 'notify_ops', 'refund', 'release', 'reserve', 'ship'].sort(),
    );
    expect(calls.indexOf('refund')).toBeLessThan(calls.indexOf('release'));
    expect(calls).not.toContain('unship');
    for (const name of ['release', 'refund', 'notify_ops']) {
      expect(byName.get(name)!.state).toBe('complete');
    }
    expect(byName.get('refund')!.compensation).toBe('undo');
    expect(byName.get('notify_ops')!.compensation).toBe('on_failure');
    expect(byName.get('charge')!.compensation).toBeNull();
    // The chain: release waits for refund.
    expect(byName.get('release')!.parentIds).toEqual([byName.get('refund')!.id]);
    expect(byName.get('notify_ops')!.parentIds).toEqual([]);

    const inputs = byName.get('refund')!.inputs as CompensationInputs;
    expect(inputs.undoing).toBe('charge');
    expect(inputs.failedSteps).toHaveLength(1);
    expect(inputs.failedSteps[0]!.name).toBe('ship');
    expect(inputs.failedSteps[0]!.error).toMatchObject({
      message: 'carrier refused the parcel',
      code: 'CARRIER_REFUSED',
    });
    expect(inputs.results).toEqual({
      reserve: { did: 'reserve', saw: null },
      charge: { did: 'charge', saw: null },
    });
    expect((byName.get('notify_ops')!.inputs as CompensationInputs).undoing).toBeNull();
    // The handler saw the same inputs.
    expect((byName.get('release')!.results as { saw: CompensationInputs }).saw.undoing).toBe('reserve');

    // Each compensation step has its own audit trail; the task's last transition is still its failure.
    const trail = await tasker.getStepTransitions(byName.get('refund')!.id);
    expect(trail.map((t) => t.toState)).toEqual(['in_progress', 'complete']);
    const taskTrail = await tasker.getTaskTransitions(created.id);
    expect(taskTrail.at(-1)).toMatchObject({ toState: 'error' });
  });

  test('an undo that fails for good stops the chain, not the failure handler; a completed task compensates nothing', async () => {
    const { tasker } = await testTasker(backend);
    const calls: string[] = [];
    tasker.register(orderWorkflow(calls, { refundFails: true }));
    const plain: string[] = [];
    tasker.register(
      defineTask({
        name: 'fine',
        onFailure: 'cleanup',
        steps: [
          { name: 'work', handler: () => plain.push('work'), undo: 'unwork' },
          { name: 'unwork', kind: 'compensation', handler: () => plain.push('unwork') },
          { name: 'cleanup', kind: 'compensation', handler: () => plain.push('cleanup') },
        ],
      }),
    );
    await tasker.startWorker();
    const created = await tasker.createTask({ name: 'order', context: {} });
    await tasker.waitForTask(created.id, { timeoutMs: 15_000 });
    const task = await settled(tasker, created.id);
    const byName = new Map(task.steps.map((s) => [s.name, s]));
    expect(task.state).toBe('error');
    expect(byName.get('refund')!.state).toBe('error');
    expect(byName.get('release')!.blocked).toBe(true);
    expect(calls).not.toContain('release');
    expect(byName.get('notify_ops')!.state).toBe('complete');

    const fine = await tasker.createTask({ name: 'fine', context: {} });
    const done = await tasker.waitForTask(fine.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('complete');
    expect(done.steps.map((s) => s.name)).toEqual(['work']);
    expect(plain).toEqual(['work']);
  });
});

describe('compensation declarations', () => {
  const problems = (definition: object): string[] => {
    try {
      defineTask(definition as never);
    } catch (error) {
      return ((error as { details?: { path: string; message: string }[] }).details ?? []).map(
        (p) => `${p.path}: ${p.message}`,
      );
    }
    return [];
  };
  const h = () => null;

  test('undo and onFailure name compensation steps, which stand apart from the DAG', () => {
    expect(
      problems({
        name: 't',
        onFailure: 'typo',
        steps: [
          { name: 'a', handler: h, undo: 'b' },
          { name: 'b', handler: h, dependsOn: ['a'] },
          { name: 'c', kind: 'compensation', handler: h, dependsOn: ['a'] },
          { name: 'd', kind: 'compensation', handler: h },
          { name: 'e', handler: h, dependsOn: ['c'] },
        ],
      }),
    ).toEqual([
      'onFailure: "typo" is not a compensation step; expected one of the compensation steps: "c", "d"',
      'steps[0].undo: "b" is not a compensation step; expected one of the compensation steps: "c", "d"',
      'steps[2].dependsOn: a compensation step depends on nothing: it runs when the task fails',
      'steps[2].kind: compensation step "c" is not named by any step\'s undo nor by onFailure',
      'steps[3].kind: compensation step "d" is not named by any step\'s undo nor by onFailure',
      'steps[4].dependsOn[0]: "c" is a compensation step: it runs only when the task fails, nothing depends on it',
    ]);
    expect(
      problems({
        name: 't',
        onFailure: 'x',
        steps: [
          { name: 'a', handler: h, undo: 'x' },
          { name: 'x', kind: 'compensation', handler: h, undo: 'x', rateLimits: ['stripe'] },
        ],
      }),
    ).toEqual([
      'steps[0].undo: "x" already compensates the task (onFailure)',
      'steps[1].undo: a compensation step has no undo of its own',
      'steps[1].rateLimits: not applied to compensation steps: remove it',
    ]);
  });

  test('compensation steps come last in the template and never in a new task; YAML spells them on_failure and undo', () => {
    const template = defineTask({
      name: 't',
      onFailure: 'alert',
      steps: [
        { name: 'alert', kind: 'compensation', handler: h },
        { name: 'a', handler: h, undo: 'unda' },
        { name: 'unda', kind: 'compensation', handler: h },
        { name: 'b', handler: h, dependsOn: ['a'] },
      ],
    });
    expect(template.steps.map((s) => `${s.position}:${s.name}`)).toEqual(['0:a', '1:b', '2:alert', '3:unda']);
    expect(template.steps[1]!.parentPositions).toEqual([0]);
    expect(template.executionOrder).toEqual(['a', 'b']);
    expect(template.onFailure).toBe('alert');
    expect(template.steps[0]!.undo).toBe('unda');

    const mapped = mapTemplate(
      {
        name: 'shop/order',
        version: '1.0.0',
        on_failure: 'alert',
        step_templates: [
          { name: 'charge', handler: 'charge', undo: 'refund' },
          { name: 'refund', handler: 'refund', kind: 'compensation' },
          { name: 'alert', handler: 'alert', kind: 'compensation' },
        ],
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition).toMatchObject({ onFailure: 'alert', steps: [{ undo: 'refund' }, {}, {}] });
    const bad = mapTemplate(
      {
        name: 'order',
        on_failure: 'nope',
        step_templates: [{ name: 'charge', handler: 'charge', undo: 'charge' }],
      },
      'test',
    );
    expect(bad.problems.map((p) => p.path)).toEqual(['on_failure', 'step_templates[0] (charge).undo']);
  });
});
