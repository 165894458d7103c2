import { hostname } from 'node:os';
import { describe, expect, test } from 'vitest';
import { defineTask, PermanentError, type StepContext, type TaskerError } from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

async function rejection(promise: Promise<unknown>): Promise<TaskerError> {
  try {
    await promise;
  } catch (error) {
    return error as TaskerError;
  }
  throw new Error('expected a rejection');
}

describe.each(BACKENDS)('operations on %s', (backend) => {
  test('cancel: running handlers see their signal aborted, pending steps are cancelled, nothing new starts', async () => {
    const { tasker } = await testTasker(backend);
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let abortReason: unknown;
    let nextRan = false;
    tasker.register(
      defineTask({
        name: 'long',
        steps: [
          {
            name: 'wait_for_signal',
            handler: async ({ signal }: StepContext) => {
              started();
              await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
              abortReason = signal.reason;
              throw signal.reason;
            },
          },
          {
            name: 'next',
            dependsOn: ['wait_for_signal'],
            handler: async () => {
              nextRan = true;
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'long' });
    await running;

    expect(await tasker.cancelTask(id, { reason: 'customer changed their mind' })).toBe('cancelled');
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('cancelled');
    // The running step is recorded when its worker reports (after the abort).
    for (let i = 0; i < 100 && (await tasker.getTask(id)).steps[0]!.state === 'in_progress'; i++)
      await sleep(50);
    const after = await tasker.getTask(id);
    expect(after.steps.map((s) => [s.name, s.state])).toEqual([
      ['wait_for_signal', 'cancelled'],
      ['next', 'cancelled'],
    ]);
    expect(abortReason).toMatchObject({ name: 'StepAbortedError', reason: 'task_cancelled' });
    expect(nextRan).toBe(false);
    const last = (await tasker.getTaskTransitions(id)).at(-1)!;
    expect(last).toMatchObject({ toState: 'cancelled', metadata: { reason: 'customer changed their mind' } });

    // Idempotent; other operations refuse clearly.
    expect(await tasker.cancelTask(id)).toBe('cancelled');
    expect((await rejection(tasker.retryTask(id))).code).toBe('TASKER_OPERATION_NOT_ALLOWED');
    expect((await rejection(tasker.resolveStep(after.steps[1]!.id, {}))).code).toBe(
      'TASKER_OPERATION_NOT_ALLOWED',
    );
  });

  test('cancel: a finished task (complete, in error, resolved by hand) is history and is refused', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({ name: 'fine', steps: [{ name: 'only', handler: async () => ({ ok: true }) }] }),
    );
    tasker.register(
      defineTask({
        name: 'broken',
        steps: [
          {
            name: 'only',
            handler: async () => {
              throw new PermanentError('nope');
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const complete = await tasker.waitForTask((await tasker.createTask({ name: 'fine' })).id, {
      timeoutMs: 20_000,
    });
    const failed = await tasker.waitForTask((await tasker.createTask({ name: 'broken' })).id, {
      timeoutMs: 20_000,
    });
    const resolved = await tasker.waitForTask((await tasker.createTask({ name: 'broken' })).id, {
      timeoutMs: 20_000,
    });
    expect(await tasker.resolveStep(resolved.steps[0]!.id, { by: 'hand' })).toBe('resolved_manually');

    for (const [task, state, says] of [
      [complete, 'complete', 'is complete and cannot be cancelled: a finished task is history'],
      [failed, 'error', 'is in error and cannot be cancelled'],
      [resolved, 'resolved_manually', 'is resolved manually and cannot be cancelled'],
    ] as const) {
      const before = await tasker.getTask(task.id);
      const trail = await tasker.getAuditTrail(task.id);
      expect(before.state).toBe(state);
      const error = await rejection(tasker.cancelTask(task.id, { reason: 'too late' }));
      expect(error).toMatchObject({ code: 'TASKER_OPERATION_NOT_ALLOWED', status: 409 });
      expect(error.message).toContain(`task ${task.id} ${says}`);
      // Nothing changed: the task, its steps and the audit trail are as they were.
      expect(await tasker.getTask(task.id)).toEqual(before);
      expect(await tasker.getAuditTrail(task.id)).toEqual(trail);
    }
  });

  test('retry: a task in error runs its failed steps again with a fresh set of attempts', async () => {
    const { tasker } = await testTasker(backend);
    let broken = true;
    tasker.register(
      defineTask({
        name: 'fixable',
        steps: [
          {
            name: 'depends_on_config',
            retryLimit: 2,
            handler: async ({ attempt }) => {
              if (broken) throw new Error(`misconfigured (attempt ${attempt})`);
              return { attempt };
            },
          },
          { name: 'downstream', dependsOn: ['depends_on_config'], handler: async ({ parents }) => parents },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'fixable' });
    const failed = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(failed.state).toBe('error');
    expect(failed.steps[0]).toMatchObject({ state: 'error', attempts: 2, totalAttempts: 2 });
    // The worker by its name, as in the workers list and logs (host:pid by default).
    expect(failed.steps[0]!.workerName).toBe(`${hostname()}:${process.pid}`);
    expect(failed.steps[1]).toMatchObject({
      state: 'pending',
      blocked: true,
      displayState: 'blocked',
      stateLabel: 'blocked by a failed step',
    });

    broken = false;
    expect(await tasker.retryTask(id)).toBe('pending');
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]).toMatchObject({
      state: 'complete',
      attempts: 1,
      totalAttempts: 3,
      results: { attempt: 1 },
    });
    expect(done.steps[1]).toMatchObject({ state: 'complete', blocked: false });
    expect((await tasker.getTaskTransitions(id)).map((t) => t.toState)).toEqual([
      'in_progress',
      'error',
      'pending',
      'in_progress',
      'complete',
    ]);
    // A complete task cannot be retried; a missing one is reported as such.
    expect((await rejection(tasker.retryTask(id))).code).toBe('TASKER_OPERATION_NOT_ALLOWED');
    expect((await rejection(tasker.retryTask(987654))).code).toBe('TASKER_TASK_NOT_FOUND');
  });

  test('resolve: a failed step resolved by hand lets its children proceed with the given results', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'manual',
        steps: [
          {
            name: 'lookup',
            handler: async () => {
              throw new PermanentError('record missing upstream');
            },
          },
          {
            name: 'use_it',
            dependsOn: ['lookup'],
            handler: async ({ parents }) => ({ got: parents.lookup }),
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'manual' });
    const failed = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(failed.state).toBe('error');
    const lookup = failed.steps[0]!;

    expect(await tasker.resolveStep(lookup.id, { recordId: 42 }, { reason: 'fixed by support' })).toBe(
      'pending',
    );
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]).toMatchObject({ state: 'resolved_manually', results: { recordId: 42 } });
    expect(done.steps[1]).toMatchObject({ state: 'complete', results: { got: { recordId: 42 } } });
    const stepTrail = await tasker.getStepTransitions(lookup.id);
    expect(stepTrail.at(-1)).toMatchObject({
      fromState: 'error',
      toState: 'resolved_manually',
      metadata: { reason: 'fixed by support' },
    });
    // Idempotent for a resolved step; refused for an unknown one.
    expect(await tasker.resolveStep(lookup.id, { recordId: 43 })).toBe('complete');
    expect((await rejection(tasker.resolveStep(99999999, {}))).code).toBe('TASKER_STEP_NOT_FOUND');
  });

  test('resolve: a leaf failure resolved by hand resolves the task', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'leaf_fails',
        steps: [
          { name: 'ok', handler: async () => 1 },
          {
            name: 'leaf',
            dependsOn: ['ok'],
            handler: async () => {
              throw new PermanentError('nope');
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'leaf_fails' });
    const failed = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(await tasker.resolveStep(failed.steps[1]!.id, 'done by hand')).toBe('resolved_manually');
  });

  test('resolve: a running step cannot be resolved', async () => {
    const { tasker } = await testTasker(backend);
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    tasker.register(
      defineTask({
        name: 'busy',
        steps: [
          {
            name: 'work',
            handler: async () => {
              started();
              await gate;
              return 'done';
            },
          },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'busy' });
    await running;
    const step = (await tasker.getTask(id)).steps[0]!;
    const error = await rejection(tasker.resolveStep(step.id, {}));
    expect(error.code).toBe('TASKER_ILLEGAL_TRANSITION');
    expect(error.message).toContain('it is running');
    release();
    expect((await tasker.waitForTask(id, { timeoutMs: 20_000 })).state).toBe('complete');
  });

  test('bypassed steps are recorded as skipped and count as done for their children', async () => {
    const { tasker } = await testTasker(backend);
    const ran: string[] = [];
    const handler = (name: string) => async (ctx: StepContext) => {
      ran.push(name);
      return { name, parents: Object.keys(ctx.parents) };
    };
    tasker.register(
      defineTask({
        name: 'with_optional',
        steps: [
          { name: 'a', handler: handler('a') },
          { name: 'send_sms', dependsOn: ['a'], skippable: true, handler: handler('send_sms') },
          { name: 'finish', dependsOn: ['a', 'send_sms'], handler: handler('finish') },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'with_optional', bypassSteps: ['send_sms'] });
    const done = await tasker.waitForTask(id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(ran.sort()).toEqual(['a', 'finish']);
    expect(done.steps.map((s) => [s.name, s.state])).toEqual([
      ['a', 'complete'],
      ['send_sms', 'skipped'],
      ['finish', 'complete'],
    ]);
    expect(done.steps[2]!.results).toEqual({ name: 'finish', parents: ['a'] });
    expect(done.bypassSteps).toEqual(['send_sms']);
    expect(
      (await tasker.getStepTransitions(done.steps[1]!.id)).map((t) => `${t.fromState}>${t.toState}`),
    ).toEqual(['pending>skipped']);

    // Only skippable steps may be bypassed, and only steps that exist.
    const error = await rejection(tasker.createTask({ name: 'with_optional', bypassSteps: ['a', 'nope'] }));
    expect(error.code).toBe('TASKER_INVALID_REQUEST');
    expect(error.details).toEqual([
      { path: 'bypassSteps[0]', message: expect.stringContaining('not skippable') },
      { path: 'bypassSteps[1]', message: expect.stringContaining('has no step "nope"') },
    ]);
  });
});

describe.each(BACKENDS)('creating tasks on %s', (backend) => {
  const schemaTask = defineTask({
    namespace: 'ecommerce',
    name: 'order',
    version: '1.0.0',
    contextSchema: {
      type: 'object',
      required: ['cartId', 'customer'],
      properties: {
        cartId: { type: 'integer', minimum: 1 },
        currency: { type: 'string', enum: ['EUR', 'USD'], default: 'EUR' },
        customer: {
          type: 'object',
          required: ['email'],
          properties: { email: { type: 'string', format: 'email' } },
        },
      },
      additionalProperties: false,
    },
    steps: [{ name: 'noop', handler: async () => null }],
  });

  test('the context is validated: every failing path is listed and nothing is written', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(schemaTask);
    const error = await rejection(
      tasker.createTask({
        namespace: 'ecommerce',
        name: 'order',
        context: { cartId: 0, currency: 'GBP', customer: { email: 'not-an-email' }, extra: true },
      }),
    );
    expect(error.code).toBe('TASKER_INVALID_CONTEXT');
    expect(error.status).toBe(422);
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'context/cartId', message: 'must be >= 1' },
        { path: 'context/currency', message: 'must be one of ["EUR","USD"]' },
        { path: 'context/customer/email', message: 'must match format "email"' },
        { path: 'context/extra', message: 'is not allowed by the schema' },
      ]),
    );
    const missing = await rejection(
      tasker.createTask({ namespace: 'ecommerce', name: 'order', context: {} }),
    );
    expect(missing.details).toEqual(
      expect.arrayContaining([
        { path: 'context/cartId', message: 'is required' },
        { path: 'context/customer', message: 'is required' },
      ]),
    );
    expect((await tasker.listTasks()).tasks).toHaveLength(0);
  });

  test('defaults from the schema are filled in', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(schemaTask);
    const created = await tasker.createTask({
      namespace: 'ecommerce',
      name: 'order',
      context: { cartId: 7, customer: { email: 'a@example.com' } },
    });
    expect((await tasker.getTask(created.id)).context).toEqual({
      cartId: 7,
      currency: 'EUR',
      customer: { email: 'a@example.com' },
    });
  });

  test('an idempotency key returns the existing task, flagged as a duplicate', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(schemaTask);
    const request = {
      namespace: 'ecommerce',
      name: 'order',
      context: { cartId: 7, customer: { email: 'a@example.com' } },
      idempotencyKey: 'order-7',
    };
    const first = await tasker.createTask(request);
    const [second, third] = await Promise.all([tasker.createTask(request), tasker.createTask(request)]);
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ id: first.id, created: false, state: 'pending' });
    expect(third).toMatchObject({ id: first.id, created: false });
    const other = await tasker.createTask({ ...request, idempotencyKey: 'order-8' });
    expect(other.created).toBe(true);
    expect(other.id).not.toBe(first.id);
  });

  test('under the hash strategy identical requests dedup and different ones do not', async () => {
    const { tasker } = await testTasker(backend, { identity: { strategy: 'hash' } });
    tasker.register(schemaTask);
    const base = { namespace: 'ecommerce', name: 'order', initiator: 'web' };
    const a = await tasker.createTask({
      ...base,
      context: { cartId: 1, customer: { email: 'a@example.com' } },
    });
    // Same context with keys in another order: the same request.
    const b = await tasker.createTask({
      ...base,
      context: { customer: { email: 'a@example.com' }, cartId: 1 },
    });
    const c = await tasker.createTask({
      ...base,
      context: { cartId: 2, customer: { email: 'a@example.com' } },
    });
    expect(b).toMatchObject({ id: a.id, created: false });
    expect(c.created).toBe(true);
  });

  test('bulk creation is all or nothing', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(schemaTask);
    const good = {
      namespace: 'ecommerce',
      name: 'order',
      context: { cartId: 1, customer: { email: 'a@b.co' } },
    };
    const error = await rejection(
      tasker.createTasks([good, { ...good, context: { cartId: 'x' } }, { ...good, name: 'missing' }]),
    );
    expect(error.details!.map((p) => p.path)).toEqual(
      expect.arrayContaining(['[1].context/cartId', '[1].context/customer', '[2].name']),
    );
    expect((await tasker.listTasks()).tasks).toHaveLength(0);
    const created = await tasker.createTasks(Array.from({ length: 25 }, () => good));
    expect(new Set(created.map((t) => t.id)).size).toBe(25);
  });

  test('requests are checked field by field', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(schemaTask);
    const error = await rejection(
      tasker.createTask({
        name: 'order',
        namespace: 'ecommerce',
        tags: [''],
        requestedAt: 'yesterday',
        bogus: 1,
      } as never),
    );
    expect(error.code).toBe('TASKER_INVALID_REQUEST');
    expect(error.details!.map((p) => p.path)).toEqual(expect.arrayContaining(['', 'tags[0]', 'requestedAt']));
    const unknown = await rejection(
      tasker.createTask({ namespace: 'ecommerce', name: 'order', version: '9.9.9' }),
    );
    expect(unknown.details![0]!.message).toBe(
      'No task handler for order in namespace ecommerce and version 9.9.9 (registered versions: 1.0.0)',
    );
  });
});

describe.each(BACKENDS)('registering templates on %s', (backend) => {
  test('a duplicate registration fails unless replacing is asked for; latest version wins', async () => {
    const { tasker } = await testTasker(backend);
    const v1 = defineTask({
      name: 'report',
      version: '1.0.0',
      steps: [{ name: 'a', handler: async () => 1 }],
    });
    const v2 = defineTask({
      name: 'report',
      version: '1.10.0',
      steps: [{ name: 'a', handler: async () => 2 }],
    });
    tasker.register(v1);
    tasker.register(v2);
    expect(() => tasker.register(v1)).toThrow(
      expect.objectContaining({ code: 'TASKER_DUPLICATE_DEFINITION' }),
    );
    tasker.register(v1, { replace: true });
    expect(tasker.template('default', 'report').version).toBe('1.10.0');
    await tasker.startWorker();
    const { id, version } = await tasker.createTask({ name: 'report' });
    expect(version).toBe('1.10.0');
    expect((await tasker.waitForTask(id, { timeoutMs: 20_000 })).steps[0]!.results).toBe(2);
  });

  test('a cycle is refused at registration, naming it', () => {
    expect(() =>
      defineTask({
        name: 'loop',
        steps: [
          { name: 'a', dependsOn: ['b'], handler: async () => 1 },
          { name: 'b', dependsOn: ['a'], handler: async () => 1 },
        ],
      }),
    ).toThrow(/dependency cycle: (a -> b -> a|b -> a -> b)/);
  });

  test('an invalid context schema is refused at registration', async () => {
    const { tasker } = await testTasker(backend);
    const bad = defineTask({
      name: 'bad_schema',
      contextSchema: { type: 'object', properties: { n: { type: 'integr' } } },
      steps: [{ name: 'a', handler: async () => 1 }],
    });
    expect(() => tasker.register(bad)).toThrow(
      expect.objectContaining({ code: 'TASKER_INVALID_DEFINITION' }),
    );
    expect(tasker.templates()).toHaveLength(0);
  });

  test('a step naming an unregistered handler stops the worker from starting', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(defineTask({ name: 'named', steps: [{ name: 'a', handler: 'not_there' }] }));
    await expect(tasker.startWorker()).rejects.toThrow(/names handler "not_there", which is not registered/);
    tasker.registerHandler('not_there', async () => 'found');
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'named' });
    expect((await tasker.waitForTask(id, { timeoutMs: 20_000 })).steps[0]!.results).toBe('found');
  });
});
