import { describe, expect, test } from 'vitest';
import { BACKENDS } from '../helpers.js';
import { apiFixture, rowCounts } from './api-helpers.js';

describe.each(BACKENDS)('REST API on %s', (backend) => {
  test('tasks: create, dedup, show with steps and dependencies, list with filters and cursor, update', async () => {
    const f = await apiFixture(backend);
    const created = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { 'x-correlation-id': 'corr-123' },
      payload: {
        namespace: 'shop',
        name: 'order',
        context: { orderId: 7 },
        tags: ['a'],
        idempotencyKey: 'k1',
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['x-correlation-id']).toBe('corr-123');
    const task = created.json();
    expect(task).toMatchObject({
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
      state: 'pending',
      correlationId: 'corr-123',
      tags: ['a'],
    });
    expect(task.steps).toBeUndefined();

    const again = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'shop', name: 'order', context: { orderId: 7 }, idempotencyKey: 'k1' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(task.id);

    const shown = await f.app.inject({ url: `/tasker/tasks/${task.id}?include=dependencies` });
    expect(shown.statusCode).toBe(200);
    const body = shown.json();
    expect(body.steps.map((s: { name: string }) => s.name)).toEqual([
      'validate',
      'charge',
      'reserve',
      'ship',
    ]);
    expect(body.dependencies.executionOrder).toEqual([['validate'], ['charge', 'reserve'], ['ship']]);
    // The dependency analysis: nothing has run, so the critical path is made of estimates.
    expect(body.dependencies.criticalPath.steps[0]).toBe('validate');
    expect(body.dependencies.criticalPath.steps.at(-1)).toBe('ship');
    expect(body.dependencies.parallelism).toBeTypeOf('object');
    expect(Array.isArray(body.dependencies.bottlenecks)).toBe(true);

    // Metrics and analytics are served by the API too.
    const metrics = await f.app.inject({ url: '/tasker/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^# HELP tasker_/m);
    const performance = await f.app.inject({ url: '/tasker/analytics/performance?period=abc' });
    expect(performance.statusCode).toBe(400);
    expect(performance.headers['content-type']).toContain('application/problem+json');
    expect(typeof body.createdAt).toBe('string');

    for (let i = 0; i < 3; i++) {
      const r = await f.app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        payload: { namespace: 'shop', name: 'order', context: { orderId: i } },
      });
      expect(r.statusCode).toBe(201);
    }
    const first = await f.app.inject({ url: '/tasker/tasks?limit=2&sort=createdAt&namespace=shop' });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0].id).toBe(task.id);
    const second = await f.app.inject({
      url: `/tasker/tasks?limit=2&sort=createdAt&cursor=${page1.nextCursor}`,
    });
    const page2 = second.json();
    expect(page2.items).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();
    const tagged = await f.app.inject({ url: '/tasker/tasks?tag=a&state=pending&state=in_progress' });
    expect(tagged.json().items.map((t: { id: number }) => t.id)).toEqual([task.id]);

    const patched = await f.app.inject({
      method: 'PATCH',
      url: `/tasker/tasks/${task.id}`,
      payload: { reason: 'rush', tags: ['b', 'c'] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ reason: 'rush', tags: ['b', 'c'] });

    const bulk = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks/bulk',
      payload: {
        tasks: [
          { namespace: 'shop', name: 'order', context: { orderId: 1 } },
          { namespace: 'shop', name: 'broken' },
        ],
      },
    });
    expect(bulk.statusCode).toBe(201);
    expect(bulk.json().items).toHaveLength(2);
  });

  test('tasks and steps: cancel, retry, step edits, resolve, transitions, audit', async () => {
    const f = await apiFixture(backend);
    const { id } = (
      await f.app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        payload: { namespace: 'shop', name: 'broken' },
      })
    ).json();
    const steps = (await f.app.inject({ url: `/tasker/tasks/${id}/steps` })).json().items;
    const [explode, after] = steps;

    const patch = await f.app.inject({
      method: 'PATCH',
      url: `/tasker/tasks/${id}/steps/${explode.id}`,
      payload: { retryLimit: 5, inputs: { x: 1 } },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json()).toMatchObject({ retryLimit: 5, inputs: { x: 1 } });

    const detail = (await f.app.inject({ url: `/tasker/tasks/${id}/steps/${after.id}` })).json();
    expect(detail).toMatchObject({ parentIds: [explode.id], childIds: [], siblingIds: [] });
    expect(Array.isArray(detail.transitions)).toBe(true);

    // Run it: explode fails for good, after is blocked, the task is in error.
    const worker = await f.tasker.startWorker();
    expect((await f.tasker.waitForTask(id, { timeoutMs: 20_000 })).state).toBe('error');
    await worker.stop();
    const blocked = (await f.app.inject({ url: `/tasker/tasks/${id}/steps/${after.id}` })).json();
    expect(blocked).toMatchObject({
      state: 'pending',
      displayState: 'blocked',
      stateLabel: 'blocked by a failed step',
    });
    const failedStep = (await f.app.inject({ url: `/tasker/tasks/${id}/steps/${explode.id}` })).json();
    expect(failedStep).toMatchObject({ displayState: 'error', workerId: worker.id, workerName: worker.name });
    // The audit trail names the worker each attempt started on, as the workers list does.
    const started = (await f.app.inject({ url: `/tasker/tasks/${id}/audit` }))
      .json()
      .items.find(
        (t: { stepId?: number; toState: string }) => t.stepId === explode.id && t.toState === 'in_progress',
      );
    expect(started).toMatchObject({ workerName: worker.name, metadata: { worker_id: worker.id } });

    const notRetryable = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${id}/steps/${after.id}/retry`,
    });
    expect(notRetryable.statusCode).toBe(409);
    expect(notRetryable.headers['content-type']).toContain('application/problem+json');
    expect(notRetryable.json().code).toBe('TASKER_OPERATION_NOT_ALLOWED');

    const retried = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${id}/steps/${explode.id}/retry`,
      payload: { reason: 'fixed' },
    });
    expect(retried.statusCode).toBe(200);
    expect(retried.json().state).toBe('pending');
    expect((await f.tasker.getTask(id)).state).toBe('pending');

    const cancelStep = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${id}/steps/${explode.id}/cancel`,
    });
    expect(cancelStep.statusCode).toBe(200);
    expect(cancelStep.json().state).toBe('cancelled');
    const afterCancel = await f.tasker.getTask(id);
    expect(afterCancel.steps.map((s) => s.state)).toEqual(['cancelled', 'cancelled']);
    expect(afterCancel.state).toBe('complete');

    // A finished task is history: cancelling it is refused and changes nothing.
    const lateCancel = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${id}/cancel`,
      payload: { reason: 'too late' },
    });
    expect(lateCancel.statusCode).toBe(409);
    expect(lateCancel.headers['content-type']).toContain('application/problem+json');
    expect(lateCancel.json()).toMatchObject({
      code: 'TASKER_OPERATION_NOT_ALLOWED',
      detail: expect.stringContaining('a finished task is history'),
    });
    expect((await f.tasker.getTask(id)).state).toBe('complete');

    const trail = (await f.app.inject({ url: `/tasker/tasks/${id}/audit` })).json().items;
    expect(trail.length).toBeGreaterThan(4);
    const stepTrail = (
      await f.app.inject({ url: `/tasker/tasks/${id}/steps/${explode.id}/transitions` })
    ).json().items;
    expect(stepTrail.map((t: { toState: string }) => t.toState)).toContain('cancelled');

    // Resolve by hand and cancel a task.
    const second = (
      await f.app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        payload: { namespace: 'shop', name: 'broken' },
      })
    ).json();
    const s2 = (await f.app.inject({ url: `/tasker/tasks/${second.id}/steps` })).json().items;
    const resolved = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${second.id}/steps/${s2[0].id}/resolve`,
      payload: { results: { manual: true } },
    });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({ state: 'resolved_manually', results: { manual: true } });
    const cancelled = await f.app.inject({
      method: 'POST',
      url: `/tasker/tasks/${second.id}/cancel`,
      payload: { reason: 'enough' },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().state).toBe('cancelled');
    const transitions = (await f.app.inject({ url: `/tasker/tasks/${second.id}/transitions` })).json().items;
    expect(transitions.at(-1)).toMatchObject({ toState: 'cancelled', metadata: { reason: 'enough' } });
    const retryCancelled = await f.app.inject({ method: 'POST', url: `/tasker/tasks/${second.id}/retry` });
    expect(retryCancelled.statusCode).toBe(409);
  });

  test('errors: problem details with each invalid field, 404s, 413, bad JSON; nothing written', async () => {
    const f = await apiFixture(backend, { bodyLimit: 2048 });
    const before = await rowCounts(f);
    const invalid = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { name: '', tags: [1], extra: true },
    });
    expect(invalid.statusCode).toBe(400);
    const problem = invalid.json();
    expect(problem).toMatchObject({ status: 400, code: 'TASKER_INVALID_REQUEST', title: 'Bad Request' });
    const paths = problem.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body/name', 'body/tags/0', 'body/extra']));

    const badContext = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'shop', name: 'order', context: { orderId: 'x' } },
    });
    expect(badContext.statusCode).toBe(422);
    expect(badContext.json().code).toBe('TASKER_INVALID_CONTEXT');
    const unknown = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'shop', name: 'nope' },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors).toEqual([{ path: 'name', message: expect.stringContaining('shop') }]);

    const tooBig = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { name: 'order', context: { pad: 'x'.repeat(5000) } },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().code).toBe('TASKER_BODY_TOO_LARGE');
    const badJson = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.headers['content-type']).toContain('application/problem+json');

    expect((await f.app.inject({ url: '/tasker/tasks/999999' })).json()).toMatchObject({
      status: 404,
      code: 'TASKER_TASK_NOT_FOUND',
    });
    expect((await f.app.inject({ url: '/tasker/tasks/abc' })).statusCode).toBe(400);
    expect((await f.app.inject({ url: '/tasker/tasks/1/steps/999999' })).statusCode).toBe(404);
    expect((await f.app.inject({ url: '/tasker/nowhere' })).json().code).toBe('TASKER_NOT_FOUND');
    expect((await f.app.inject({ url: '/tasker/tasks?limit=0&sort=up' })).json().errors).toHaveLength(2);
    expect((await f.app.inject({ method: 'PATCH', url: '/tasker/tasks/1', payload: {} })).statusCode).toBe(
      400,
    );
    expect((await f.app.inject({ url: '/tasker/tasks?cursor=zzz' })).statusCode).toBe(400);
    // PostgreSQL cannot store NUL characters: refused with the path, not a 500.
    const nul = await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'shop', name: 'order', context: { orderId: 1, note: 'a\u0000b' } },
    });
    expect(nul.statusCode).toBe(400);
    expect(nul.json().errors).toEqual([
      { path: 'body/context/note', message: expect.stringContaining('NUL') },
    ]);
    expect((await f.app.inject({ url: '/tasker/tasks?namespace=%00' })).statusCode).toBe(400);
    expect(await rowCounts(f)).toEqual(before);
  });

  test('handlers with the dependency graph; health live, ready and status', async () => {
    const f = await apiFixture(backend);
    const all = (await f.app.inject({ url: '/tasker/handlers' })).json();
    expect(all.namespaces).toEqual([
      {
        namespace: 'shop',
        templates: expect.arrayContaining([expect.objectContaining({ name: 'order', version: '1.0.0' })]),
      },
    ]);
    expect((await f.app.inject({ url: '/tasker/handlers/shop' })).statusCode).toBe(200);
    expect((await f.app.inject({ url: '/tasker/handlers/nope' })).statusCode).toBe(404);
    const one = (await f.app.inject({ url: '/tasker/handlers/shop/order?version=1.0.0' })).json();
    expect(one.graph.executionOrder).toEqual([['validate'], ['charge', 'reserve'], ['ship']]);
    expect(one.graph.edges).toContainEqual({ from: 'charge', to: 'ship' });
    expect(one.steps[3]).toMatchObject({ name: 'ship', dependsOn: ['charge', 'reserve'] });
    expect((await f.app.inject({ url: '/tasker/handlers/shop/order?version=9.9.9' })).statusCode).toBe(404);

    expect((await f.app.inject({ url: '/tasker/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await f.app.inject({ url: '/tasker/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({
      database: { status: 'ok' },
      migrations: { status: 'ok' },
      registry: { status: 'ok' },
    });
    await f.app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'shop', name: 'broken' },
    });
    const status = (await f.app.inject({ url: '/tasker/health/status' })).json();
    expect(status.tasks.byState).toEqual({ pending: 1 });
    expect(status.steps.byState).toEqual({ pending: 2 });
    expect(status.queue).toEqual({
      ready: 1,
      waitingForRetry: 0,
      waitingForParents: 1,
      running: 0,
      blocked: 0,
    });
    expect(status.pool.kind).toBe(backend);
  });

  test('health status: the step queue counts what will run, never the steps of a failed task', async () => {
    const f = await apiFixture(backend);
    const worker = await f.tasker.startWorker();
    const failed = await f.tasker.createTask({ namespace: 'shop', name: 'broken' });
    expect((await f.tasker.waitForTask(failed.id, { timeoutMs: 20_000 })).state).toBe('error');
    await worker.stop();
    // A failed task's step below the failure is pending (blocked); an order waits for a worker.
    await f.tasker.createTask({ namespace: 'shop', name: 'order', context: { orderId: 1 } });
    const status = (await f.app.inject({ url: '/tasker/health/status' })).json();
    expect(status.steps.byState).toMatchObject({ pending: 5, error: 1 });
    expect(status.queue).toEqual({
      ready: 1,
      waitingForRetry: 0,
      waitingForParents: 3,
      running: 0,
      blocked: 1,
    });
  });
});
