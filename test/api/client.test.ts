// The typed REST client (tasker-ts/client) against the real server over HTTP: create, wait, list by
// parent, signal, cancel refused with the API's problem code, auth by bearer token; and its types,
// generated from the server's OpenAPI document, are current.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { startServer } from '../../src/api/index.js';
import { apiTypesSource } from '../../src/client/generate-types.js';
import { createTaskerClient, TaskerApiError } from '../../src/client/index.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('REST client on %s', (backend) => {
  test('creates, waits, lists, signals and reports problems with their codes', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        namespace: 'shop',
        name: 'order',
        contextSchema: {
          type: 'object',
          required: ['orderId'],
          properties: { orderId: { type: 'integer' } },
        },
        steps: [
          { name: 'charge', handler: ({ context }) => ({ charged: context.orderId }) },
          { name: 'approval', dependsOn: ['charge'], kind: 'signal', signal: { name: 'approved' } },
        ],
      }),
    );
    await tasker.startWorker();
    const server = await startServer({ tasker, port: 0 });
    try {
      const client = createTaskerClient({ baseUrl: server.url });
      const created = await client.createTask({ namespace: 'shop', name: 'order', context: { orderId: 7 } });
      expect(created).toMatchObject({ namespace: 'shop', name: 'order' });
      // (Its first step may have been claimed in the round trip that created it: migration 40.)
      expect(['pending', 'in_progress']).toContain(created.state);

      // Waiting for the signal: the wait times out with its code, then the signal finishes the task.
      await expect(client.waitForTask(created.id, { timeoutMs: 300, intervalMs: 50 })).rejects.toMatchObject({
        code: 'TASKER_WAIT_TIMEOUT',
      });
      const sent = await client.signal(created.id, 'approved', { by: 'ada' });
      expect(sent).toMatchObject({ taskId: created.id, name: 'approved' });
      const done = await client.waitForTask(created.id, { timeoutMs: 15_000, intervalMs: 50 });
      expect(done.state).toBe('complete');
      expect(done.steps.map((s) => [s.name, s.state])).toEqual([
        ['charge', 'complete'],
        ['approval', 'complete'],
      ]);

      const page = await client.listTasks({ namespace: 'shop', state: ['complete'], limit: 10 });
      expect(page.items.map((t) => t.id)).toEqual([created.id]);
      expect((await client.listTasks({ parentTaskId: created.id })).items).toEqual([]);

      // Problems come back typed, with the API's code and status.
      const refused = await client.cancelTask(created.id).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TaskerApiError);
      expect(refused).toMatchObject({ status: 409, code: 'TASKER_OPERATION_NOT_ALLOWED' });
      const invalid = await client
        .createTask({ namespace: 'shop', name: 'order', context: { orderId: 'seven' } })
        .catch((e: unknown) => e as TaskerApiError);
      expect(invalid).toMatchObject({ status: 422, code: 'TASKER_INVALID_CONTEXT' });
      expect((invalid as TaskerApiError).problem?.errors?.[0]?.path).toBe('context/orderId');
      await expect(client.getTask(999_999)).rejects.toMatchObject({
        status: 404,
        code: 'TASKER_TASK_NOT_FOUND',
      });
      expect(() => createTaskerClient({ baseUrl: 'localhost:3000' })).toThrow(/http\(s\) address/);
    } finally {
      await server.close();
    }
  });
});

test('the generated API types match the server', async () => {
  const committed = readFileSync(new URL('../../src/client/openapi.generated.ts', import.meta.url), 'utf8');
  expect(await apiTypesSource(), 'stale: run npm run build && npm run build:api-types').toBe(committed);
}, 60_000);
