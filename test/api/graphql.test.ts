import { describe, expect, test, vi } from 'vitest';
import { BACKENDS } from '../helpers.js';
import { apiFixture } from './api-helpers.js';

async function gql(
  app: Awaited<ReturnType<typeof apiFixture>>['app'],
  query: string,
  variables: Record<string, unknown> = {},
) {
  const res = await app.inject({ method: 'POST', url: '/tasker/graphql', payload: { query, variables } });
  return { status: res.statusCode, body: res.json() };
}

describe.each(BACKENDS)('GraphQL on %s', (backend) => {
  test('cancelTask refuses a finished task with a 409 error and leaves it as it was', async () => {
    const f = await apiFixture(backend);
    await f.tasker.startWorker();
    const { id } = await f.tasker.createTask({ namespace: 'shop', name: 'order', context: { orderId: 1 } });
    expect((await f.tasker.waitForTask(id, { timeoutMs: 20_000 })).state).toBe('complete');
    const refused = await gql(
      f.app,
      `mutation ($id: Int!) { cancelTask(id: $id, reason: "late") { state } }`,
      {
        id,
      },
    );
    expect(refused.body.data).toBeNull();
    expect(refused.body.errors[0].message).toContain('a finished task is history');
    expect(refused.body.errors[0].extensions).toMatchObject({
      code: 'TASKER_OPERATION_NOT_ALLOWED',
      status: 409,
    });
    expect((await f.tasker.getTask(id)).state).toBe('complete');
    const steps = await gql(
      f.app,
      `query ($id: Int!) { task(id: $id) { steps { displayState stateLabel workerName } } }`,
      {
        id,
      },
    );
    const worker = (await f.tasker.liveWorkers())[0]!;
    expect(steps.body.data.task.steps[0]).toEqual({
      displayState: 'complete',
      stateLabel: 'complete',
      workerName: worker.name,
    });
  });

  test('queries and mutations; tasks with their steps load the steps in one batch', async () => {
    const f = await apiFixture(backend);
    const created = await gql(
      f.app,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { id state namespace correlationId createdAt } }`,
      { input: { namespace: 'shop', name: 'order', context: { orderId: 3 }, correlationId: 'gql-1' } },
    );
    expect(created.body.errors).toBeUndefined();
    const task = created.body.data.createTask;
    expect(task).toMatchObject({ state: 'pending', namespace: 'shop', correlationId: 'gql-1' });
    expect(Number.isNaN(Date.parse(task.createdAt))).toBe(false);
    for (let i = 0; i < 3; i++) await f.tasker.createTask({ namespace: 'shop', name: 'broken' });

    const batch = vi.spyOn(f.tasker, 'getStepsOfTasks');
    const single = vi.spyOn(f.tasker, 'getTask');
    const listed = await gql(
      f.app,
      `{ tasks(namespace: "shop", sort: CREATED_AT_ASC, limit: 10) { nextCursor items { id name steps { name state parentIds } } } }`,
    );
    expect(listed.body.errors).toBeUndefined();
    const items = listed.body.data.tasks.items;
    expect(items).toHaveLength(4);
    expect(items[0].steps.map((s: { name: string }) => s.name)).toEqual([
      'validate',
      'charge',
      'reserve',
      'ship',
    ]);
    expect(items[1].steps).toHaveLength(2);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(single).not.toHaveBeenCalled();

    const one = await gql(
      f.app,
      `query ($id: Int!) { task(id: $id) { id transitions { toState } steps { id name transitions { toState } } } }`,
      { id: task.id },
    );
    const expected = (await f.tasker.getTaskTransitions(task.id)).map((t) => ({ toState: t.toState }));
    expect(one.body.data.task.transitions).toEqual(expected);
    const stepId = one.body.data.task.steps[0].id;
    expect((await gql(f.app, `{ task(id: 999999) { id } }`)).body.data.task).toBeNull();

    const updated = await gql(
      f.app,
      `mutation ($id: Int!) { updateStep(id: $id, retryLimit: 7, inputs: {a: [1, 2]}) { retryLimit inputs } }`,
      { id: stepId },
    );
    expect(updated.body.data.updateStep).toEqual({ retryLimit: 7, inputs: { a: [1, 2] } });
    const resolved = await gql(
      f.app,
      `mutation ($id: Int!) { resolveStep(id: $id, results: {ok: true}) { state results } }`,
      { id: stepId },
    );
    expect(resolved.body.data.resolveStep).toEqual({ state: 'resolved_manually', results: { ok: true } });
    const cancelled = await gql(
      f.app,
      `mutation ($id: Int!) { cancelTask(id: $id, reason: "stop") { state } }`,
      { id: task.id },
    );
    expect(cancelled.body.data.cancelTask.state).toBe('cancelled');
    const refused = await gql(f.app, `mutation ($id: Int!) { retryTask(id: $id) { state } }`, {
      id: task.id,
    });
    expect(refused.body.errors[0].extensions).toMatchObject({
      code: 'TASKER_OPERATION_NOT_ALLOWED',
      status: 409,
    });

    const handlers = await gql(
      f.app,
      `{ handlers(namespace: "shop") { namespace templates { name steps { name dependsOn } } } }`,
    );
    expect(handlers.body.data.handlers[0].templates.map((t: { name: string }) => t.name).sort()).toEqual([
      'broken',
      'order',
    ]);

    const invalid = await gql(
      f.app,
      `mutation { createTask(input: { name: "order", namespace: "shop", context: { orderId: "x" } }) { id } }`,
    );
    expect(invalid.body.errors[0].extensions).toMatchObject({ code: 'TASKER_INVALID_CONTEXT', status: 422 });
    const tooMany = await gql(f.app, `{ tasks(limit: 1000) { items { id } } }`);
    expect(tooMany.body.errors[0].extensions.code).toBe('TASKER_INVALID_REQUEST');
  });
});
