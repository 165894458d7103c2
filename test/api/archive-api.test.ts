// The archive through the API (real requests to the real server): REST and GraphQL list by tier, read an
// archived task, its steps and audit trail back, and refuse changes to it with TASKER_TASK_ARCHIVED.
import { describe, expect, test } from 'vitest';
import { BACKENDS } from '../helpers.js';
import { apiFixture } from './api-helpers.js';

describe.each(BACKENDS)('the archive through the API on %s', { timeout: 60_000 }, (backend) => {
  test('tiers, archived reads and refused changes over REST and GraphQL', async () => {
    const f = await apiFixture(backend);
    await f.tasker.startWorker();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await f.app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        payload: { namespace: 'shop', name: 'order', context: { orderId: i } },
      });
      ids.push(r.json().id);
    }
    for (const id of ids) await f.tasker.waitForTask(id, { timeoutMs: 30_000 });
    const trail = (await f.app.inject({ url: `/tasker/tasks/${ids[0]}/audit` })).json();
    expect(await f.tasker.prune({ olderThan: 0, archive: true })).toMatchObject({ tasks: 3 });
    const live = await f.tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { orderId: 9 },
      runAt: new Date(Date.now() + 3_600_000),
    });

    const list = async (query: string) => {
      const r = await f.app.inject({ url: `/tasker/tasks${query}` });
      expect(r.statusCode, r.body).toBe(200);
      return r.json().items.map((t: { id: number }) => t.id);
    };
    expect(await list('')).toEqual([live.id]);
    expect(await list('?tier=archived')).toEqual([...ids].reverse());
    expect(await list('?tier=active&tier=archived&sort=createdAt')).toEqual([...ids, live.id]);
    const bad = await f.app.inject({ url: '/tasker/tasks?tier=cold' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('tier');

    const shown = await f.app.inject({ url: `/tasker/tasks/${ids[0]}` });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ id: ids[0], state: 'complete', archivedAt: expect.any(String) });
    expect(shown.json().steps.map((s: { name: string }) => s.name)).toEqual([
      'validate',
      'charge',
      'reserve',
      'ship',
    ]);
    expect((await f.app.inject({ url: `/tasker/tasks/${ids[0]}/audit` })).json()).toEqual(trail);
    const stepId = shown.json().steps[3].id;
    const step = await f.app.inject({ url: `/tasker/tasks/${ids[0]}/steps/${stepId}` });
    expect(step.statusCode, step.body).toBe(200);
    expect(step.json()).toMatchObject({ id: stepId, name: 'ship', state: 'complete' });

    const cancel = await f.app.inject({ method: 'POST', url: `/tasker/tasks/${ids[0]}/cancel`, payload: {} });
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json()).toMatchObject({ code: 'TASKER_TASK_ARCHIVED' });

    const gql = await f.app.inject({
      method: 'POST',
      url: '/tasker/graphql',
      payload: {
        query: `{ tasks(tier: [archived], limit: 2) { items { id archivedAt steps { name } transitions { toState } } nextCursor }
                  task(id: ${ids[1]}) { id archivedAt } }`,
      },
    });
    expect(gql.statusCode, gql.body).toBe(200);
    const data = gql.json().data;
    expect(data.tasks.items.map((t: { id: number }) => t.id)).toEqual([ids[2], ids[1]]);
    expect(data.tasks.items[0].archivedAt).toEqual(expect.any(String));
    expect(data.tasks.items[0].steps).toHaveLength(4);
    expect(data.tasks.items[0].transitions.at(-1).toState).toBe('complete');
    expect(data.tasks.nextCursor).toEqual(expect.any(String));
    expect(data.task).toMatchObject({ id: ids[1], archivedAt: expect.any(String) });
  });
});
