import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { defineTask, maskSecrets, secretKeyMatcher, type Tasker } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';
import { billing } from './workflows.js';

/** A pino logger writing JSON lines into an array. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('masking', () => {
  test('masks secret keys at any depth, by substring or RegExp, leaving other values alone', () => {
    const isSecret = secretKeyMatcher(['password', /^pin$/i]);
    const error = new Error('kept');
    const input = { user: 'ann', userPassword: 'x', nested: [{ PIN: 1234, pinned: true }], error };
    expect(maskSecrets(input, isSecret)).toEqual({
      user: 'ann',
      userPassword: '[FILTERED]',
      nested: [{ PIN: '[FILTERED]', pinned: true }],
      error,
    });
    expect(input.userPassword).toBe('x'); // a copy
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(maskSecrets(cyclic, isSecret)).toEqual({ a: 1, self: '[Circular]' });
  });
});

describe.each(BACKENDS)('logs (%s)', (backend) => {
  test('every line from inside a step carries correlation id, task, step and attempt; secrets are masked', async () => {
    const { logger, lines } = capture();
    const { tasker } = await testTasker(backend, { logger });
    tasker.register(billing);
    await tasker.startWorker();
    const task = await tasker.createTask({ namespace: 'billing', name: 'charge', correlationId: 'req-77' });
    const done = await tasker.waitForTask(task.id);
    const [authorize, capture_] = done.steps;

    const authorizing = lines.find((l) => l.msg === 'authorizing')!;
    expect(authorizing).toMatchObject({
      correlationId: 'req-77',
      taskId: task.id,
      stepId: authorize!.id,
      step: 'authorize',
      attempt: 1,
      password: '[FILTERED]',
      card: { number: '4111', cvv: '[FILTERED]' },
      amount: 10,
    });
    // Engine logger inside a step, message only (the pino form Fastify and others use).
    const plain = lines.find((l) => l.msg === 'plain message')!;
    expect(plain).toMatchObject({ taskId: task.id, step: 'authorize', attempt: 1 });
    const retried = lines.find((l) => l.msg === 'captured on retry')!;
    expect(retried).toMatchObject({ taskId: task.id, stepId: capture_!.id, step: 'capture', attempt: 2 });
    // Engine lines outside any step carry no step context.
    const started = lines.find((l) => l.msg === 'worker started')!;
    expect(started.taskId).toBeUndefined();
  });

  test('custom mask keys, and log context off', async () => {
    const { logger, lines } = capture();
    const { tasker } = await testTasker(backend, {
      logger,
      telemetry: { log: { context: false, maskKeys: ['amount'] } },
    });
    tasker.register(billing);
    await tasker.startWorker();
    const task = await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await tasker.waitForTask(task.id);
    const authorizing = lines.find((l) => l.msg === 'authorizing')!;
    expect(authorizing.amount).toBe('[FILTERED]');
    expect(authorizing.password).toBe('hunter2'); // only the configured keys
    expect(authorizing.taskId).toBeUndefined();
  });

  test("the Tasker's logger inside a step's async calls carries its context only with asyncContext", async () => {
    // A helper of the handler's that logs through the Tasker's logger, after an await, not through ctx.log.
    let shared: Tasker | null = null;
    const helper = async (what: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      shared!.logger.info({ what }, 'from a helper');
      return shared!.telemetry.logging.current()?.step ?? null;
    };
    const template = defineTask({
      namespace: 'logs',
      name: 'ambient',
      steps: [
        {
          name: 'work',
          handler: async (ctx) => {
            ctx.log.child!({ part: 'child' }).info({}, 'from a child of ctx.log');
            return { current: await helper('ambient') };
          },
        },
      ],
    });
    const lines = async (asyncContext: boolean | undefined) => {
      const captured = capture();
      const { tasker } = await testTasker(backend, {
        logger: captured.logger,
        telemetry: { log: asyncContext === undefined ? {} : { asyncContext } },
      });
      shared = tasker;
      tasker.register(template);
      await tasker.startWorker();
      const task = await tasker.createTask({ namespace: 'logs', name: 'ambient', correlationId: 'c-1' });
      const done = await tasker.waitForTask(task.id);
      const fromHelper = captured.lines.find((l) => l.msg === 'from a helper')!;
      const fromChild = captured.lines.find((l) => l.msg === 'from a child of ctx.log')!;
      return { task, done, fromHelper, fromChild };
    };

    const on = await lines(true);
    expect(on.fromHelper).toMatchObject({
      what: 'ambient',
      correlationId: 'c-1',
      taskId: on.task.id,
      step: 'work',
    });
    expect(on.done.steps[0]!.results).toEqual({ current: 'work' });
    expect(on.fromChild).toMatchObject({ part: 'child', taskId: on.task.id, step: 'work', attempt: 1 });

    for (const setting of [undefined, false]) {
      const off = await lines(setting);
      expect(off.fromHelper.what).toBe('ambient');
      expect(off.fromHelper.taskId).toBeUndefined();
      expect(off.done.steps[0]!.results).toEqual({ current: null });
      // ctx.log (and its children) are bound to the step without AsyncLocalStorage.
      expect(off.fromChild).toMatchObject({ part: 'child', taskId: off.task.id, step: 'work', attempt: 1 });
    }
  });

  test('an invalid telemetry option is reported with its path', async () => {
    await expect(
      testTasker(backend, { telemetry: { log: { level: 'loud' as 'info' } } }),
    ).rejects.toMatchObject({
      code: 'TASKER_INVALID_CONFIG',
      message: expect.stringMatching(/telemetry\.log\.level/),
    });
  });
});
