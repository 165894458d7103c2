import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { maskSecrets, secretKeyMatcher } from '../../src/index.js';
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

  test('an invalid telemetry option is reported with its path', async () => {
    await expect(
      testTasker(backend, { telemetry: { log: { level: 'loud' as 'info' } } }),
    ).rejects.toMatchObject({
      code: 'TASKER_INVALID_CONFIG',
      message: expect.stringMatching(/telemetry\.log\.level/),
    });
  });
});
