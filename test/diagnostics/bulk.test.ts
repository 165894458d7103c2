// Bulk operations by filter on PostgreSQL and PGlite: a dry run counts and changes nothing; retry,
// resolve and cancel change what the filter matches, each recording who asked and why in the task's
// audit trail; over REST too; bad requests are refused naming the field.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask, isTaskerError, PermanentError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe.each(BACKENDS)('bulk operations on %s', { timeout: 120_000 }, (backend) => {
  it('retry a failure group after a dry run; resolve and cancel by template', async () => {
    const t = await testTasker(backend, { execution: { concurrency: 20 } });
    let upstreamDown = true;
    t.tasker.register(
      defineTask({
        namespace: 'shop',
        name: 'sync',
        steps: [
          {
            name: 'push',
            handler: ({ context }: { context: { n: number } }) => {
              if (upstreamDown)
                throw new PermanentError(`upstream refused order ${context.n}`, { code: 'UPSTREAM_DOWN' });
              return { pushed: context.n };
            },
          },
        ],
      }),
    );
    t.tasker.register(
      defineTask({
        namespace: 'shop',
        name: 'hold',
        steps: [
          {
            name: 'wait',
            timeoutMs: 60_000,
            handler: ({ signal }) =>
              new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
          },
        ],
      }),
    );
    await t.tasker.startWorker();
    const created = await t.tasker.createTasks(
      Array.from({ length: 30 }, (_, n) => ({ namespace: 'shop', name: 'sync', context: { n } })),
    );
    for (const { id } of created) await t.tasker.waitForTask(id, { timeoutMs: 60_000 });
    const [group] = await t.tasker.failures();
    expect(group).toMatchObject({ steps: 30, category: 'permanent' });

    const dry = await t.tasker.bulk('retry', {
      filter: { fingerprint: group!.fingerprint },
      reason: 'upstream is back',
      dryRun: true,
    });
    expect(dry).toMatchObject({ action: 'retry', dryRun: true, matched: 30, changed: 0 });
    expect((await t.tasker.getTask(created[0]!.id)).state).toBe('error');

    upstreamDown = false;
    const done = await t.tasker.bulk('retry', {
      filter: { fingerprint: group!.fingerprint },
      reason: 'upstream is back',
      requestedBy: 'ops@example.com',
    });
    expect(done).toMatchObject({ matched: 30, changed: 30, failed: [] });
    for (const { id } of created)
      expect((await t.tasker.waitForTask(id, { timeoutMs: 60_000 })).state).toBe('complete');
    const audit = await t.tasker.getTaskTransitions(created[7]!.id);
    expect(JSON.stringify(audit)).toContain('upstream is back (bulk retry requested by ops@example.com)');
    expect(await t.tasker.failures()).toEqual([]);

    // Resolve: fail five again, resolve them with results.
    upstreamDown = true;
    const more = await t.tasker.createTasks(
      Array.from({ length: 5 }, (_, n) => ({ namespace: 'shop', name: 'sync', context: { n: 100 + n } })),
    );
    for (const { id } of more) await t.tasker.waitForTask(id, { timeoutMs: 60_000 });
    const resolved = await t.tasker.bulk('resolve', {
      filter: { namespace: 'shop', name: 'sync', step: 'push' },
      reason: 'pushed by hand',
      results: { pushed: 'manually' },
    });
    expect(resolved).toMatchObject({ matched: 5, changed: 5 });
    const after = await t.tasker.getTask(more[0]!.id);
    expect(after.state).toBe('resolved_manually');
    expect(after.steps[0]!.results).toEqual({ pushed: 'manually' });

    // Cancel: unfinished tasks of a template.
    const held = await t.tasker.createTasks(
      Array.from({ length: 4 }, () => ({ namespace: 'shop', name: 'hold' })),
    );
    expect(
      (
        await t.tasker.bulk('cancel', {
          filter: { namespace: 'shop', name: 'hold' },
          reason: 'x',
          dryRun: true,
        })
      ).matched,
    ).toBe(4);
    expect(
      await t.tasker.bulk('cancel', {
        filter: { namespace: 'shop', name: 'hold' },
        reason: 'not needed any more',
      }),
    ).toMatchObject({
      matched: 4,
      changed: 4,
    });
    for (const { id } of held) expect((await t.tasker.getTaskSummary(id)).state).toBe('cancelled');

    // Refused, naming the field; nothing changed.
    for (const [action, request, field] of [
      ['resolve', { filter: { namespace: 'shop' }, reason: 'x' }, 'results'],
      ['retry', { filter: { name: 'sync' }, reason: 'x' }, 'name'],
      ['retry', { filter: { namespace: 'shop' } }, 'reason'],
      ['retry', { filter: { namespace: 'shop' }, reason: 'x', since: 'yesterday' }, 'since'],
    ] as const) {
      const error = await t.tasker.bulk(action, request as never).catch((e: unknown) => e);
      expect(isTaskerError(error, 'TASKER_INVALID_REQUEST'), JSON.stringify(request)).toBe(true);
      expect((error as Error).message).toContain(field);
    }
  });

  it('over REST: a dry run, then the change, with the permission of the single operation', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        namespace: 'ops',
        name: 'job',
        steps: [
          {
            name: 'run',
            handler: () => {
              throw new PermanentError('nope', { code: 'NOPE' });
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ namespace: 'ops', name: 'job' });
    await tasker.waitForTask(id, { timeoutMs: 30_000 });
    const app = await createApiServer({ tasker });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tasker`;
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const dry = await post('/bulk/resolve', {
      filter: { namespace: 'ops' },
      reason: 'by hand',
      results: { ok: true },
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ action: 'resolve', matched: 1, changed: 0, dryRun: true });
    const real = await post('/bulk/resolve', {
      filter: { namespace: 'ops' },
      reason: 'by hand',
      results: { ok: true },
    });
    expect(await real.json()).toMatchObject({ matched: 1, changed: 1 });
    expect((await tasker.getTaskSummary(id)).state).toBe('resolved_manually');
    expect((await post('/bulk/retry', { filter: {}, reason: '' })).status).toBe(400);
    expect((await post('/bulk/delete', { filter: {}, reason: 'x' })).status).toBe(404);
  });
});
