// Identity strategies: what makes two task requests the same, and what a duplicate gets (the library;
// the API and CLI have their own tests of the same rules).
import { describe, expect, test } from 'vitest';
import { defineTask, isTaskerError, type Tasker, type TaskerError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const templates = (tasker: Tasker) => {
  for (const identityStrategy of ['strict', 'caller_provided', 'always_unique', 'hash', undefined] as const) {
    tasker.register(
      defineTask({
        namespace: 'ids',
        name: identityStrategy ?? 'engine_default',
        ...(identityStrategy ? { identityStrategy } : {}),
        contextSchema: {
          type: 'object',
          properties: { orderId: { type: 'integer' }, currency: { type: 'string', default: 'EUR' } },
        },
        steps: [{ name: 'only', handler: () => null }],
      }),
    );
  }
};

async function failure(promise: Promise<unknown>): Promise<TaskerError> {
  try {
    await promise;
  } catch (error) {
    if (isTaskerError(error)) return error;
    throw error;
  }
  throw new Error('expected a TaskerError');
}

async function taskCount(tasker: Tasker, name: string): Promise<number> {
  return (await tasker.listTasks({ namespace: 'ids', name, limit: 100 })).tasks.length;
}

describe.each(BACKENDS)('identity strategies on %s', (backend) => {
  test('strict: the same context is the same task; a duplicate is refused naming it', async () => {
    const { tasker } = await testTasker(backend);
    templates(tasker);
    const first = await tasker.createTask({ namespace: 'ids', name: 'strict', context: { orderId: 1 } });
    expect(first.created).toBe(true);
    // Key order and a default filled in by the schema make no difference.
    const again = await failure(
      tasker.createTask({ namespace: 'ids', name: 'strict', context: { currency: 'EUR', orderId: 1 } }),
    );
    expect(again.code).toBe('TASKER_DUPLICATE_TASK');
    expect(again.status).toBe(409);
    expect(again.existingTaskId).toBe(first.id);
    expect(again.message).toContain(`task ${first.id} already exists`);
    // Concurrent identical requests: one task, every other one refused with its id.
    const racing = await Promise.allSettled(
      [1, 2, 3].map(() => tasker.createTask({ namespace: 'ids', name: 'strict', context: { orderId: 2 } })),
    );
    const made = racing.filter((r) => r.status === 'fulfilled');
    expect(made).toHaveLength(1);
    const madeId = (made[0] as PromiseFulfilledResult<{ id: number }>).value.id;
    for (const r of racing.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: 'TASKER_DUPLICATE_TASK',
        existingTaskId: madeId,
      });
    }
    // Another context is other work; an idempotency key, when given, is the identity instead.
    expect(
      (await tasker.createTask({ namespace: 'ids', name: 'strict', context: { orderId: 3 } })).created,
    ).toBe(true);
    const keyed = await tasker.createTask({
      namespace: 'ids',
      name: 'strict',
      context: { orderId: 1 },
      idempotencyKey: 'k-1',
    });
    expect(keyed.created).toBe(true);
    expect(
      (
        await failure(
          tasker.createTask({
            namespace: 'ids',
            name: 'strict',
            context: { orderId: 9 },
            idempotencyKey: 'k-1',
          }),
        )
      ).existingTaskId,
    ).toBe(keyed.id);
  });

  test('strict in bulk: a duplicate fails the whole call and writes nothing', async () => {
    const { tasker } = await testTasker(backend);
    templates(tasker);
    const existing = await tasker.createTask({ namespace: 'ids', name: 'strict', context: { orderId: 1 } });
    const before = await taskCount(tasker, 'strict');
    const error = await failure(
      tasker.createTasks([
        { namespace: 'ids', name: 'strict', context: { orderId: 5 } },
        { namespace: 'ids', name: 'strict', context: { orderId: 1 } },
      ]),
    );
    expect(error).toMatchObject({ code: 'TASKER_DUPLICATE_TASK', existingTaskId: existing.id });
    expect(error.details).toEqual([{ path: '[1]', message: expect.stringContaining(`task ${existing.id}`) }]);
    // Two identical requests in one call: the second duplicates the first, which is rolled back too.
    const within = await failure(
      tasker.createTasks([
        { namespace: 'ids', name: 'strict', context: { orderId: 6 } },
        { namespace: 'ids', name: 'strict', context: { orderId: 6 } },
      ]),
    );
    expect(within.existingTaskId).toBeUndefined();
    expect(within.details).toEqual([
      { path: '[1]', message: expect.stringContaining('duplicates request [0] of the same call') },
    ]);
    expect(await taskCount(tasker, 'strict')).toBe(before);
  });

  test('caller_provided: the key is required and decides; a repeated key returns the task', async () => {
    const { tasker } = await testTasker(backend);
    templates(tasker);
    const missing = await failure(tasker.createTask({ namespace: 'ids', name: 'caller_provided' }));
    expect(missing.code).toBe('TASKER_INVALID_REQUEST');
    expect(missing.details).toEqual([
      { path: 'idempotencyKey', message: expect.stringContaining('caller_provided identity strategy') },
    ]);
    const a = await tasker.createTask({
      namespace: 'ids',
      name: 'caller_provided',
      context: { orderId: 1 },
      idempotencyKey: 'order-1',
    });
    // The same context under another key is other work; the same key is the same task.
    const b = await tasker.createTask({
      namespace: 'ids',
      name: 'caller_provided',
      context: { orderId: 1 },
      idempotencyKey: 'order-1b',
    });
    const again = await tasker.createTask({
      namespace: 'ids',
      name: 'caller_provided',
      context: { orderId: 2 },
      idempotencyKey: 'order-1',
    });
    expect(a.created && b.created).toBe(true);
    expect(b.id).not.toBe(a.id);
    expect(again).toMatchObject({ id: a.id, created: false });
  });

  test('always_unique (and the engine default): every request is new work unless it carries a key', async () => {
    const { tasker } = await testTasker(backend);
    templates(tasker);
    for (const name of ['always_unique', 'engine_default']) {
      const a = await tasker.createTask({ namespace: 'ids', name, context: { orderId: 1 } });
      const b = await tasker.createTask({ namespace: 'ids', name, context: { orderId: 1 } });
      expect(a.created && b.created).toBe(true);
      expect(b.id).not.toBe(a.id);
      const k1 = await tasker.createTask({ namespace: 'ids', name, idempotencyKey: 'same' });
      const k2 = await tasker.createTask({ namespace: 'ids', name, idempotencyKey: 'same' });
      expect(k2).toMatchObject({ id: k1.id, created: false });
    }
  });

  test('the engine default applies to templates that do not choose; unique is the old always_unique', async () => {
    const strict = await testTasker(backend, { identity: { strategy: 'strict' } });
    templates(strict.tasker);
    const first = await strict.tasker.createTask({ namespace: 'ids', name: 'engine_default' });
    expect(
      (await failure(strict.tasker.createTask({ namespace: 'ids', name: 'engine_default' }))).existingTaskId,
    ).toBe(first.id);
    // A template's own strategy wins over the default.
    await strict.tasker.createTask({ namespace: 'ids', name: 'always_unique' });
    expect((await strict.tasker.createTask({ namespace: 'ids', name: 'always_unique' })).created).toBe(true);

    const legacy = await testTasker(backend, { identity: { strategy: 'unique' } });
    expect(legacy.tasker.config.identity.strategy).toBe('always_unique');
  });

  test('hash: identical requests within the minute return the first task', async () => {
    const { tasker } = await testTasker(backend);
    templates(tasker);
    const at = '2026-01-01T10:00:05Z';
    const a = await tasker.createTask({
      namespace: 'ids',
      name: 'hash',
      context: { orderId: 1 },
      requestedAt: at,
    });
    const b = await tasker.createTask({
      namespace: 'ids',
      name: 'hash',
      context: { orderId: 1 },
      requestedAt: '2026-01-01T10:00:55Z',
    });
    const nextMinute = await tasker.createTask({
      namespace: 'ids',
      name: 'hash',
      context: { orderId: 1 },
      requestedAt: '2026-01-01T10:01:05Z',
    });
    expect(b).toMatchObject({ id: a.id, created: false });
    expect(nextMinute.created).toBe(true);
  });

  test('an unknown strategy is refused with the choices', () => {
    expect(() =>
      defineTask({
        name: 'x',
        identityStrategy: 'sometimes' as never,
        steps: [{ name: 'a', handler: () => null }],
      }),
    ).toThrow(/identityStrategy: expected one of always_unique, caller_provided, strict, hash/);
  });
});
