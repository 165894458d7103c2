// Durable waits: a sleep holds no worker slot and ends at its time; a signal sent before, during or
// after the wait (the last refused); a signal timeout fails the step; REST and GraphQL send signals.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask, isTaskerError } from '../../src/index.js';
import { mapTemplate } from '../../src/templates/map-template.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe.each(BACKENDS)('durable waits on %s', (backend) => {
  test('a sleep holds no worker slot and ends at its time; sleep until a time from the context', async () => {
    // One slot: if the sleep held it, the quick task could not run meanwhile.
    const { tasker, db, schema } = await testTasker(backend, { execution: { concurrency: 1 } });
    const times = new Map<string, number>();
    const mark = (name: string) => () => void times.set(name, Date.now());
    tasker.register(
      defineTask({
        name: 'nap',
        steps: [
          { name: 'before', handler: mark('before') },
          { name: 'nap', kind: 'sleep', sleep: { ms: 1200 }, dependsOn: ['before'] },
          { name: 'after', dependsOn: ['nap'], handler: mark('after') },
        ],
      }),
    );
    tasker.register(defineTask({ name: 'quick', steps: [{ name: 'only', handler: mark('quick') }] }));
    tasker.register(
      defineTask({
        name: 'alarm',
        steps: [
          { name: 'wait', kind: 'sleep', sleep: { until: 'at' } },
          { name: 'ring', dependsOn: ['wait'], handler: mark('ring') },
        ],
      }),
    );
    await tasker.startWorker();
    const napping = await tasker.createTask({ name: 'nap' });
    while (!times.has('before')) await sleep(10);
    const quick = await tasker.createTask({ name: 'quick' });
    expect((await tasker.waitForTask(quick.id, { timeoutMs: 10_000 })).state).toBe('complete');
    const done = await tasker.waitForTask(napping.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('complete');
    expect(times.get('quick')!).toBeLessThan(times.get('after')!);
    expect(times.get('after')! - times.get('before')!).toBeGreaterThanOrEqual(1200 - 20);
    const nap = done.steps.find((s) => s.name === 'nap')!;
    expect(nap.attempts).toBe(1);
    expect(nap.results).toMatchObject({ sleptUntil: expect.any(String) });
    const { rows } = await db.query<{
      from_state: string;
      to_state: string;
      metadata: { waiting_for?: string };
    }>(
      `SELECT from_state, to_state, metadata FROM "${schema}".step_transitions WHERE step_id = $1 ORDER BY sort_key`,
      [nap.id],
    );
    expect(rows.filter((r) => r.metadata?.waiting_for === 'sleep')).toHaveLength(1);

    const at = new Date(Date.now() + 700).toISOString();
    const alarm = await tasker.createTask({ name: 'alarm', context: { at } });
    expect((await tasker.waitForTask(alarm.id, { timeoutMs: 10_000 })).state).toBe('complete');
    expect(times.get('ring')!).toBeGreaterThanOrEqual(Date.parse(at) - 20);
    const bad = await tasker
      .createTask({ name: 'alarm', context: { at: 'tomorrow-ish' } })
      .catch((e: unknown) => e);
    expect(isTaskerError(bad, 'TASKER_INVALID_CONTEXT')).toBe(true);
    expect((bad as Error).message).toContain('context/at');
  });

  test('a signal sent before, during and after the wait; a timeout fails the step', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'approval',
        steps: [
          {
            name: 'prepare',
            handler: async ({ context }) => (await sleep(Number(context.prepareMs ?? 0)), 'ready'),
          },
          { name: 'approved', kind: 'signal', signal: { name: 'approved' }, dependsOn: ['prepare'] },
          { name: 'ship', dependsOn: ['approved'], handler: ({ parents }) => parents.approved },
        ],
      }),
    );
    tasker.register(
      defineTask({
        name: 'impatient',
        steps: [{ name: 'answer', kind: 'signal', signal: { name: 'answer', timeoutMs: 400 } }],
      }),
    );
    await tasker.startWorker();

    // Before: the signal arrives while the first step still runs; it is kept for the wait.
    const early = await tasker.createTask({ name: 'approval', context: { prepareMs: 300 } });
    await tasker.signal(early.id, 'approved', { by: 'ada' });
    const earlyDone = await tasker.waitForTask(early.id, { timeoutMs: 10_000 });
    expect(earlyDone.state).toBe('complete');
    expect(earlyDone.steps.find((s) => s.name === 'ship')!.results).toMatchObject({
      signal: 'approved',
      payload: { by: 'ada' },
    });

    // During: the step is parked on its signal, holding nothing; the signal wakes it.
    const during = await tasker.createTask({ name: 'approval' });
    for (;;) {
      const step = (await tasker.getTask(during.id)).steps.find((s) => s.name === 'approved')!;
      if (step.waitingForKey === `signal:${during.id}:approved`) break;
      await sleep(20);
    }
    expect((await tasker.getTask(during.id)).state).toBe('in_progress');
    await tasker.signal(during.id, 'approved', { by: 'grace' });
    const duringDone = await tasker.waitForTask(during.id, { timeoutMs: 10_000 });
    expect(duringDone.steps.find((s) => s.name === 'approved')!.results).toMatchObject({
      payload: { by: 'grace' },
    });

    // After: a finished task takes no signals.
    const late = await tasker.signal(during.id, 'approved', {}).catch((e: unknown) => e);
    expect(isTaskerError(late, 'TASKER_OPERATION_NOT_ALLOWED')).toBe(true);
    const missing = await tasker.signal(999_999, 'approved').catch((e: unknown) => e);
    expect(isTaskerError(missing, 'TASKER_TASK_NOT_FOUND')).toBe(true);

    // Timeout: no signal within 400 ms fails the step, without a retry (not retryable by default).
    const started = Date.now();
    const timedOut = await tasker.createTask({ name: 'impatient' });
    const failed = await tasker.waitForTask(timedOut.id, { timeoutMs: 10_000 });
    expect(failed.state).toBe('error');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const answer = failed.steps[0]!;
    expect(answer.lastError).toMatchObject({
      code: 'WAIT_TIMEOUT',
      message: 'signal "answer" did not arrive within 400 ms',
    });
    expect(answer.attempts).toBe(1);
  });

  test('REST and GraphQL send signals; a finished task answers 409', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        namespace: 'ops',
        name: 'gate',
        steps: [
          { name: 'open', kind: 'signal', signal: { name: 'open' } },
          { name: 'go', dependsOn: ['open'], handler: () => 1 },
        ],
      }),
    );
    await tasker.startWorker();
    const app = await createApiServer({ tasker });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tasker`;

    const first = await tasker.createTask({ namespace: 'ops', name: 'gate' });
    const sent = await fetch(`${base}/tasks/${first.id}/signals/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { door: 3 } }),
    });
    expect(sent.status).toBe(202);
    expect(await sent.json()).toMatchObject({ taskId: first.id, name: 'open', signalId: expect.any(Number) });
    expect((await tasker.waitForTask(first.id, { timeoutMs: 10_000 })).state).toBe('complete');
    const again = await fetch(`${base}/tasks/${first.id}/signals/open`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('TASKER_OPERATION_NOT_ALLOWED');
    const badName = await fetch(`${base}/tasks/${first.id}/signals/${encodeURIComponent('no spaces')}`, {
      method: 'POST',
    });
    expect(badName.status).toBe(400);

    const second = await tasker.createTask({ namespace: 'ops', name: 'gate' });
    const gql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'mutation($id: Int!) { signalTask(id: $id, name: "open", payload: {door: 4}) { signalId taskId name } }',
        variables: { id: second.id },
      }),
    });
    const body = (await gql.json()) as { data?: { signalTask: { taskId: number } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.signalTask.taskId).toBe(second.id);
    const done = await tasker.waitForTask(second.id, { timeoutMs: 10_000 });
    expect(done.steps[0]!.results).toMatchObject({ payload: { door: 4 } });
  });

  test('YAML: sleep and signal steps need no handler', () => {
    const mapped = mapTemplate(
      {
        name: 'gate',
        step_templates: [
          {
            name: 'open',
            kind: 'signal',
            signal: { name: 'open', timeout_ms: 1000, timeout_retryable: true },
          },
          { name: 'nap', kind: 'sleep', sleep: { ms: 5 }, depends_on_step: 'open' },
        ],
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition!.steps[0]).toMatchObject({
      kind: 'signal',
      signal: { name: 'open', timeoutMs: 1000, timeoutRetryable: true },
    });
    expect(defineTask(mapped.definition!).steps[1]!.wait).toEqual({ kind: 'sleep', ms: 5, untilPath: null });
  });

  test('a wait step with a handler, or without its wait, is refused when defined', () => {
    expect(() =>
      defineTask({ name: 'x', steps: [{ name: 's', kind: 'sleep', handler: () => 1, sleep: { ms: 5 } }] }),
    ).toThrow(/steps\[0\]\.handler: a sleep step runs no handler/);
    expect(() => defineTask({ name: 'x', steps: [{ name: 's', kind: 'signal' }] })).toThrow(
      /steps\[0\]\.signal: required for a signal step/,
    );
    expect(() => defineTask({ name: 'x', steps: [{ name: 's', handler: () => 1 }, { name: 't' }] })).toThrow(
      /steps\[1\]\.handler: expected a handler/,
    );
  });
});
