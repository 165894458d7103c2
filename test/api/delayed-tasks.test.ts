// Delayed tasks over HTTP: REST and GraphQL take runAt / delayMs, answer with the task's runAt, and refuse
// bad values naming the field (no task created).
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe.each(BACKENDS)('delayed tasks over the API on %s', (backend) => {
  test('REST and GraphQL create delayed tasks and refuse bad delays', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({ namespace: 'later', name: 'job', steps: [{ name: 'only', handler: () => 1 }] }),
    );
    const app = await createApiServer({ tasker });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tasker`;
    const post = (body: unknown) =>
      fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const before = Date.now();
    const delayed = await post({ namespace: 'later', name: 'job', delayMs: 60_000 });
    expect(delayed.status).toBe(201);
    const { id } = (await delayed.json()) as { id: number };
    const task = (await (await fetch(`${base}/tasks/${id}`)).json()) as { state: string; runAt: string };
    expect(task.state).toBe('pending');
    expect(Date.parse(task.runAt) - before).toBeGreaterThanOrEqual(60_000 - 5);
    expect(Date.parse(task.runAt) - before).toBeLessThan(70_000);

    const at = '2031-05-01T09:00:00.000Z';
    const byTime = await post({ namespace: 'later', name: 'job', runAt: at });
    expect(byTime.status).toBe(201);

    for (const [body, field] of [
      [{ namespace: 'later', name: 'job', delayMs: -5 }, 'delayMs'],
      [{ namespace: 'later', name: 'job', runAt: 'next week' }, 'runAt'],
      [{ namespace: 'later', name: 'job', runAt: at, delayMs: 10 }, 'delayMs'],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.text()).toContain(field);
    }

    const gql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation { createTask(input: { namespace: "later", name: "job", runAt: "${at}" }) { id runAt state } }`,
      }),
    });
    const gqlBody = (await gql.json()) as {
      data?: { createTask: { runAt: string; state: string } };
      errors?: unknown;
    };
    expect(gqlBody.errors).toBeUndefined();
    expect(new Date(gqlBody.data!.createTask.runAt).toISOString()).toBe(at);
    const all = (await (await fetch(`${base}/tasks`)).json()) as { items?: unknown[]; tasks?: unknown[] };
    expect((all.items ?? all.tasks)!.length).toBe(3);
  });
});
