// The example workflows, end to end: a fresh in-memory database per test, the stand-in API on a free
// port, the templates and handlers exactly as `tasker worker` loads them.
import { createTasker, loadConfig, loadWorkflows, registerWorkflows, type Tasker } from 'tasker-ts';
import { afterEach, beforeEach, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module without type declarations
import { startStandInApi } from '../scripts/stand-in-api.mjs';

let tasker: Tasker;
let api: { url: string; close(): Promise<void> };

beforeEach(async () => {
  api = await startStandInApi();
  const config = await loadConfig();
  tasker = await createTasker({ ...config.taskerOptions, database: { inMemory: true } });
  registerWorkflows(tasker, await loadWorkflows({ ...config.workflows, environment: 'test' }));
  await tasker.startWorker();
});

afterEach(async () => {
  await tasker.close();
  await api.close();
});

it('processes an order: prices the cart and creates the order', async () => {
  const task = await tasker.createTask({
    namespace: 'ecommerce',
    name: 'order_processing',
    context: { cart_id: 1, customer_email: 'ada@example.com', api_url: api.url },
  });
  const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
  expect(done.state).toBe('complete');
  const pricing = done.steps.find((s) => s.name === 'calculate_pricing')!;
  expect(pricing.results).toEqual({ subtotal: 25, discount: 0, tax: 5, total: 30 });
});

it('fails an order for an unknown cart at once (404 is permanent)', async () => {
  const task = await tasker.createTask({
    namespace: 'ecommerce',
    name: 'order_processing',
    context: { cart_id: 999, customer_email: 'ada@example.com', api_url: api.url },
  });
  const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
  expect(done.state).toBe('error');
  expect(done.steps[0]!.lastError?.code).toBe('HTTP_404');
});

it('restocks the products below their reorder point', async () => {
  const task = await tasker.createTask({
    namespace: 'inventory',
    name: 'stock_management',
    context: { api_url: api.url },
  });
  const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
  expect(done.state).toBe('complete');
  expect(done.steps.at(-1)!.results).toMatchObject({ restockOrders: 2 });
});

it('onboards a customer once; a second registration is refused', async () => {
  const context = { email: 'grace@example.com', name: 'Grace', api_url: api.url };
  const first = await tasker.createTask({ namespace: 'customer', name: 'user_onboarding', context });
  expect((await tasker.waitForTask(first.id, { timeoutMs: 30_000 })).state).toBe('complete');
  const second = await tasker.createTask({ namespace: 'customer', name: 'user_onboarding', context });
  const done = await tasker.waitForTask(second.id, { timeoutMs: 30_000 });
  expect(done.state).toBe('error');
  expect(done.steps.find((s) => s.name === 'create_user_account')!.lastError?.code).toBe('DUPLICATE_USER');
});
