// Identity strategies over the API: REST and GraphQL answer a duplicate the same way the library does.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, type TestTasker, testTasker } from '../helpers.js';
import { rowCounts } from './api-helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function fixture(backend: (typeof BACKENDS)[number]): Promise<TestTasker & { app: FastifyInstance }> {
  const t = await testTasker(backend);
  for (const identityStrategy of ['strict', 'caller_provided'] as const) {
    t.tasker.register(
      defineTask({
        namespace: 'ids',
        name: identityStrategy,
        identityStrategy,
        contextSchema: { type: 'object', properties: { orderId: { type: 'integer' } } },
        steps: [{ name: 'only', handler: () => null }],
      }),
    );
  }
  const app = await createApiServer({ tasker: t.tasker });
  apps.push(app);
  return { ...t, app };
}

describe.each(BACKENDS)('duplicate requests over the API on %s', (backend) => {
  test('REST: strict answers 409 naming the existing task; caller_provided needs the key', async () => {
    const f = await fixture(backend);
    const post = (payload: Record<string, unknown>, url = '/tasker/tasks') =>
      f.app.inject({ method: 'POST', url, payload });
    const body = { namespace: 'ids', name: 'strict', context: { orderId: 1 } };
    const first = await post(body);
    expect(first.statusCode).toBe(201);
    const id = first.json().id as number;

    const again = await post(body);
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json()).toMatchObject({
      status: 409,
      code: 'TASKER_DUPLICATE_TASK',
      existingTaskId: id,
      detail: expect.stringContaining(`task ${id} already exists`),
    });

    // Bulk: all or nothing, the duplicate named by its position.
    const before = await rowCounts(f);
    const bulk = await post({ tasks: [{ ...body, context: { orderId: 2 } }, body] }, '/tasker/tasks/bulk');
    expect(bulk.statusCode).toBe(409);
    expect(bulk.json()).toMatchObject({
      code: 'TASKER_DUPLICATE_TASK',
      existingTaskId: id,
      errors: [{ path: '[1]', message: expect.stringContaining(`task ${id}`) }],
    });
    expect(await rowCounts(f)).toEqual(before);

    const missing = await post({ namespace: 'ids', name: 'caller_provided' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      errors: [{ path: 'idempotencyKey', message: expect.stringContaining('caller_provided') }],
    });
    const keyed = await post({ namespace: 'ids', name: 'caller_provided', idempotencyKey: 'order-1' });
    expect(keyed.statusCode).toBe(201);
    const repeated = await post({ namespace: 'ids', name: 'caller_provided', idempotencyKey: 'order-1' });
    expect(repeated.statusCode).toBe(200);
    expect(repeated.json().id).toBe(keyed.json().id);
  });

  test('GraphQL: the same rules, the code and existing task id in the error extensions', async () => {
    const f = await fixture(backend);
    const create = async (input: Record<string, unknown>) =>
      (
        await f.app.inject({
          method: 'POST',
          url: '/tasker/graphql',
          payload: {
            query: 'mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }',
            variables: { input },
          },
        })
      ).json();
    const first = await create({ namespace: 'ids', name: 'strict', context: { orderId: 1 } });
    expect(first.errors).toBeUndefined();
    const id = first.data.createTask.id;
    const again = await create({ namespace: 'ids', name: 'strict', context: { orderId: 1 } });
    expect(again.errors[0]).toMatchObject({
      message: expect.stringContaining(`task ${id} already exists`),
      extensions: { code: 'TASKER_DUPLICATE_TASK', status: 409, existingTaskId: id },
    });
    const missing = await create({ namespace: 'ids', name: 'caller_provided' });
    expect(missing.errors[0].extensions).toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      errors: [{ path: 'idempotencyKey' }],
    });
  });
});
