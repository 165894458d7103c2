import { describe, expect, test } from 'vitest';
import {
  customEventNameProblem,
  defineTask,
  PermanentError,
  type StepContext,
  type TaskerError,
} from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

const shipping = defineTask({
  namespace: 'shop',
  name: 'ship_order',
  version: '1.0.0',
  steps: [
    { name: 'pack', handler: async () => ({ packed: true }) },
    {
      name: 'ship',
      dependsOn: ['pack'],
      customEvents: [{ name: 'order.shipped', description: 'the parcel left' }],
      handler: async (ctx: StepContext) => {
        ctx.publish('order.shipped', { carrier: 'dhl', orderId: ctx.context.orderId });
        return { shipped: true };
      },
    },
  ],
});

/** Resolves once `predicate` holds (events are delivered asynchronously). */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('custom event names are checked at registration', () => {
  test.each([
    ['shipped', /must contain a "\."/],
    ['task.completed', /system event/],
    ['step.custom', /reserved namespace "step"/],
    ['workflow.thing', /reserved namespace "workflow"/],
    ['observability.x', /reserved namespace "observability"/],
    ['order..x', /dot-separated/],
  ])('%s is refused', (name, message) => {
    expect(customEventNameProblem(name)).toMatch(message);
  });

  test('order.shipped is allowed', () => {
    expect(customEventNameProblem('order.shipped')).toBeNull();
  });
});

describe.each(BACKENDS)('events (%s)', (backend) => {
  test('a workflow emits the catalog events in order, custom events after their step is recorded', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(shipping);
    const seen: Array<{ name: string; payload: Record<string, unknown> }> = [];
    tasker.events.on('*', (payload, name) => {
      seen.push({ name, payload: payload as unknown as Record<string, unknown> });
    });
    const typed: number[] = [];
    tasker.events.on('step.completed', (e) => typed.push(e.durationMs));
    const stepEvents: string[] = [];
    tasker.events.on('step.*', (_e, name) => stepEvents.push(name));

    await tasker.startWorker({ concurrency: 2 });
    const task = await tasker.createTask({ namespace: 'shop', name: 'ship_order', context: { orderId: 42 } });
    await tasker.waitForTask(task.id);
    await until(() => seen.some((e) => e.name === 'task.completed'), 'task.completed');
    await until(() => seen.some((e) => e.name === 'order.shipped'), 'order.shipped');

    const names = seen.map((e) => e.name);
    expect(names[0]).toBe('task.created');
    expect(names.filter((n) => n === 'step.completed')).toHaveLength(2);
    expect(typed).toHaveLength(2);
    expect(stepEvents.every((n) => n.startsWith('step.'))).toBe(true);
    const shipCompleted = seen.findIndex((e) => e.name === 'step.completed' && e.payload.stepName === 'ship');
    const shipped = seen.findIndex((e) => e.name === 'order.shipped');
    expect(shipped).toBeGreaterThan(shipCompleted);
    expect(seen[shipped]!.payload).toMatchObject({
      taskId: task.id,
      stepName: 'ship',
      namespace: 'shop',
      name: 'ship_order',
      version: '1.0.0',
      attempt: 1,
      payload: { carrier: 'dhl', orderId: 42 },
    });
    const completed = seen.find((e) => e.name === 'task.completed')!.payload;
    expect(completed).toMatchObject({
      taskId: task.id,
      namespace: 'shop',
      name: 'ship_order',
      state: 'complete',
    });
    expect(typeof completed.timestamp).toBe('string');
  });

  test('registering a template with a reserved custom event name fails', async () => {
    const { tasker } = await testTasker(backend);
    const bad = defineTask({
      name: 'bad_events',
      steps: [{ name: 'a', handler: () => 1, customEvents: [{ name: 'task.mine' }] }],
    });
    expect(() => tasker.register(bad)).toThrowError(
      expect.objectContaining({
        code: 'TASKER_INVALID_DEFINITION',
        message: expect.stringMatching(/task\.mine/),
      }),
    );
  });

  test('publishing an undeclared event fails the attempt; nothing is delivered', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'sneaky',
        steps: [
          {
            name: 'a',
            retryable: false,
            handler: (ctx: StepContext) => {
              ctx.publish('order.undeclared', {});
            },
          },
        ],
      }),
    );
    const custom: string[] = [];
    tasker.events.on('order.*', (_p, name) => custom.push(name));
    await tasker.startWorker();
    const task = await tasker.createTask({ name: 'sneaky' });
    const done = await tasker.waitForTask(task.id);
    expect(done.state).toBe('error');
    expect(done.steps[0]!.lastError?.message).toMatch(/does not declare/);
    expect(custom).toEqual([]);
  });

  test('a throwing or slow subscriber neither blocks nor breaks the engine, and is counted', async () => {
    const { tasker } = await testTasker(backend, { telemetry: { log: { level: 'silent' } } });
    tasker.register(shipping);
    tasker.events.on('step.completed', () => {
      throw new Error('subscriber bug');
    });
    tasker.events.on('step.*', async () => {
      await sleep(60_000); // never finishes during the test
    });
    tasker.events.on('task.created', async () => {
      throw new PermanentError('async subscriber bug');
    });
    await tasker.startWorker();
    const task = await tasker.createTask({ namespace: 'shop', name: 'ship_order', context: { orderId: 1 } });
    expect((await tasker.waitForTask(task.id)).state).toBe('complete');
    let lastMetrics = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      lastMetrics = await tasker.metrics();
      if (/tasker_event_subscriber_errors_total\{event="step.completed"\} 2/.test(lastMetrics)) break;
      await sleep(50);
    }
    expect(lastMetrics).toMatch(/tasker_event_subscriber_errors_total\{event="step.completed"\} 2/);
    expect(lastMetrics).toMatch(/tasker_event_subscriber_errors_total\{event="task.created"\} 1/);
  });

  test('operations emit their events once committed', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'stuck',
        steps: [{ name: 'a', handler: () => 1 }],
      }),
    );
    const seen: string[] = [];
    tasker.events.on('task.*', (_p, name) => seen.push(name));
    const task = await tasker.createTask({ name: 'stuck' });
    await tasker.cancelTask(task.id, { reason: 'not needed' });
    await expect(tasker.cancelTask(999_999)).rejects.toMatchObject({
      code: 'TASKER_TASK_NOT_FOUND',
    } satisfies Partial<TaskerError>);
    await until(() => seen.includes('task.cancelled'), 'task.cancelled');
    expect(seen).toEqual(['task.created', 'task.cancelled']);
    expect(await tasker.metrics()).toMatch(
      /tasker_tasks_cancelled_total\{namespace="default",name="stuck",version="0.1.0"\} 1/,
    );
  });

  test('resolving the last failed step by hand resolves the task, with its event', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'fragile',
        steps: [
          {
            name: 'a',
            handler: () => {
              throw new PermanentError('needs a human');
            },
          },
        ],
      }),
    );
    const seen: Array<[string, Record<string, unknown>]> = [];
    tasker.events.on('*', (p, name) => seen.push([name, p as unknown as Record<string, unknown>]));
    await tasker.startWorker();
    const task = await tasker.createTask({ name: 'fragile' });
    const failed = await tasker.waitForTask(task.id);
    expect(failed.state).toBe('error');
    await tasker.resolveStep(failed.steps[0]!.id, { fixed: true }, { reason: 'done by hand' });
    await until(() => seen.some(([n]) => n === 'task.resolved_manually'), 'task.resolved_manually');
    const names = seen.map(([n]) => n);
    expect(names.indexOf('step.resolved_manually')).toBeLessThan(names.indexOf('task.resolved_manually'));
    expect(seen.find(([n]) => n === 'task.resolved_manually')![1]).toMatchObject({
      taskId: task.id,
      name: 'fragile',
      state: 'resolved_manually',
    });
  });
});
