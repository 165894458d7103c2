import { describe, expect, test } from 'vitest';
import { defineTask, PermanentError, RetryableError, type StepContext } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('failures and retries on %s', (backend) => {
  test('a step that fails once then succeeds is retried and completes', async () => {
    const { tasker } = await testTasker(backend);
    const attempts: number[] = [];
    tasker.register(
      defineTask({
        name: 'flaky',
        steps: [
          {
            name: 'call_api',
            handler: async ({ attempt }) => {
              attempts.push(attempt);
              if (attempt === 1) throw new Error('connection reset');
              return { ok: true };
            },
          },
          { name: 'after', dependsOn: ['call_api'], handler: async ({ parents }) => parents },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'flaky' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });

    expect(done.state).toBe('complete');
    expect(attempts).toEqual([1, 2]);
    const step = done.steps.find((s) => s.name === 'call_api')!;
    expect(step.attempts).toBe(2);
    expect(done.steps.find((s) => s.name === 'after')!.results).toEqual({ call_api: { ok: true } });
    const trail = await tasker.getStepTransitions(step.id);
    expect(trail.map((t) => `${t.fromState}>${t.toState}`)).toEqual([
      'pending>in_progress',
      'in_progress>waiting_for_retry',
      'waiting_for_retry>in_progress',
      'in_progress>complete',
    ]);
    // The failed attempt's error is in the audit trail: class, message, stack, and when it may run again.
    const failed = trail[1]!.metadata as { attempt: number; error: Record<string, string>; retry_at: string };
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatchObject({ class: 'Error', message: 'connection reset' });
    expect(failed.error.stack).toContain('connection reset');
    // The retry did not start before its time.
    expect(trail[2]!.createdAt.getTime()).toBeGreaterThanOrEqual(new Date(failed.retry_at).getTime());
  });

  test('a permanent error fails the step at once; the rest of the DAG runs to its end, then the task fails', async () => {
    const { tasker } = await testTasker(backend);
    let belowRan = false;
    tasker.register(
      defineTask({
        name: 'partial',
        steps: [
          { name: 'start', handler: async () => 'go' },
          {
            name: 'charge_card',
            dependsOn: ['start'],
            retryLimit: 5,
            handler: async () => {
              throw new PermanentError('card declined', {
                code: 'CARD_DECLINED',
                context: { last4: '4242' },
              });
            },
          },
          {
            name: 'ship',
            dependsOn: ['charge_card'],
            handler: async () => {
              belowRan = true;
            },
          },
          { name: 'email', dependsOn: ['ship'], handler: async () => null },
          { name: 'audit', dependsOn: ['start'], handler: async () => 'audited' },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'partial' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });

    expect(done.state).toBe('error');
    const byName = Object.fromEntries(done.steps.map((s) => [s.name, s]));
    expect(byName.charge_card).toMatchObject({ state: 'error', attempts: 1 });
    expect(byName.charge_card!.lastError).toMatchObject({
      class: 'PermanentError',
      code: 'CARD_DECLINED',
      context: { last4: '4242' },
    });
    expect(byName.audit).toMatchObject({ state: 'complete', results: 'audited' });
    expect(byName.ship).toMatchObject({ state: 'pending', blocked: true, attempts: 0 });
    expect(byName.email).toMatchObject({ state: 'pending', blocked: true });
    expect(belowRan).toBe(false);
    expect(done.failedSteps).toBe(1);
    const last = (await tasker.getTaskTransitions(id)).at(-1)!;
    expect(last).toMatchObject({ fromState: 'in_progress', toState: 'error' });
    expect(last.metadata).toEqual({ reason: 'steps failed', failed_steps: ['charge_card'] });
    const context = await tasker.executionContext(id);
    expect(context).toMatchObject({
      executionStatus: 'blocked_by_failures',
      recommendedAction: 'handle_failures',
      healthStatus: 'blocked',
      failedSteps: 1,
    });
  });

  test('retries stop at the retry limit, counting every attempt', async () => {
    const { tasker } = await testTasker(backend);
    let calls = 0;
    tasker.register(
      defineTask({
        name: 'always_fails',
        steps: [
          {
            name: 'doomed',
            retryLimit: 3,
            handler: async () => {
              calls++;
              throw new TypeError(`boom ${calls}`);
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'always_fails' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('error');
    expect(calls).toBe(3);
    expect(done.steps[0]).toMatchObject({ state: 'error', attempts: 3 });
    expect(done.steps[0]!.lastError).toMatchObject({ class: 'TypeError', message: 'boom 3' });
    const toStates = (await tasker.getStepTransitions(done.steps[0]!.id)).map((t) => t.toState);
    expect(toStates).toEqual([
      'in_progress',
      'waiting_for_retry',
      'in_progress',
      'waiting_for_retry',
      'in_progress',
      'error',
    ]);
  });

  test('a non-retryable step fails on its first error', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'once',
        steps: [
          {
            name: 'only_once',
            retryable: false,
            handler: async () => {
              throw new Error('no second chance');
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'once' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.steps[0]).toMatchObject({ state: 'error', attempts: 1, retryLimit: 1, retryable: false });
  });

  test('a retry-after asked for by the handler is honoured', async () => {
    const { tasker } = await testTasker(backend, { backoff: { scheduleMs: [1], maxMs: 60_000 } });
    tasker.register(
      defineTask({
        name: 'rate_limited',
        steps: [
          {
            name: 'call',
            handler: async ({ attempt }) => {
              if (attempt === 1) throw new RetryableError('429 Too Many Requests', { retryAfterMs: 700 });
              return 'ok';
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'rate_limited' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]!.backoffRequestSeconds).toBe(0.7);
    const trail = await tasker.getStepTransitions(done.steps[0]!.id);
    const retryAt = new Date((trail[1]!.metadata as { retry_at: string }).retry_at).getTime();
    // Scheduled 700 ms after the failure, and not claimed before then. (Measured from the attempt's start:
    // the failure's audit row is written later in the same transaction, by an amount a loaded machine
    // can make longer than any margin.)
    const startedAt = trail[0]!.createdAt.getTime();
    expect(retryAt - startedAt).toBeGreaterThan(700);
    expect(trail[2]!.createdAt.getTime()).toBeGreaterThanOrEqual(retryAt);
  });

  test('a timeout aborts the handler signal and counts as a retryable failure', async () => {
    const { tasker } = await testTasker(backend);
    const seen: Array<{ attempt: number; aborted: boolean; reason: string }> = [];
    tasker.register(
      defineTask({
        name: 'slow',
        steps: [
          {
            name: 'hangs_then_works',
            timeoutMs: 200,
            retryLimit: 3,
            handler: async ({ attempt, signal }: StepContext) => {
              if (attempt >= 2) return { attempt };
              // Honours its signal: ends when aborted.
              await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
              seen.push({ attempt, aborted: signal.aborted, reason: (signal.reason as Error).name });
              return 'too late';
            },
          },
          {
            name: 'ignores_signal',
            timeoutMs: 200,
            retryLimit: 1,
            // Never settles: the worker must stop waiting for it anyway.
            handler: () => new Promise(() => {}),
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'slow' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    const byName = Object.fromEntries(done.steps.map((s) => [s.name, s]));
    expect(seen).toEqual([{ attempt: 1, aborted: true, reason: 'StepTimeoutError' }]);
    expect(byName.hangs_then_works).toMatchObject({
      state: 'complete',
      attempts: 2,
      results: { attempt: 2 },
    });
    expect(byName.ignores_signal).toMatchObject({ state: 'error', attempts: 1 });
    expect(byName.ignores_signal!.lastError).toMatchObject({
      class: 'StepTimeoutError',
      message: 'step timed out after 200 ms',
    });
    expect(done.state).toBe('error');
  });

  test('results that cannot be stored as JSON fail the step permanently', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'circular',
        steps: [
          {
            name: 'returns_cycle',
            handler: async () => {
              const o: Record<string, unknown> = {};
              o.self = o;
              return o;
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'circular' });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.steps[0]).toMatchObject({ state: 'error', attempts: 1 });
    expect(done.steps[0]!.lastError!.class).toBe('ResultsNotSerializableError');
  });
});
