/**
 * A task written with the typed builder runs like any other: its zod context schema validates contexts
 * (defaults filled in), and each step's parents hold what the parent handlers returned, as JSON.
 */
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineTask, type TaskerError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const order = defineTask({
  namespace: 'shop',
  name: 'typed_order',
  version: '1.0.0',
  contextSchema: z.object({
    cart_id: z.number().int().min(1),
    customer_email: z.email(),
    discount_percent: z.number().min(0).max(100).default(10),
  }),
})
  .step('validate_cart', async ({ context }) => ({
    cartId: context.cart_id,
    items: [
      { sku: 'A', price: 10, quantity: 2 },
      { sku: 'B', price: 5, quantity: 1 },
    ],
    checkedAt: new Date('2026-01-02T03:04:05.000Z'),
  }))
  .step('calculate_pricing', { dependsOn: ['validate_cart'] }, async ({ context, parents }) => {
    const subtotal = parents.validate_cart.items.reduce((sum, i) => sum + i.price * i.quantity, 0);
    return {
      subtotal,
      total: subtotal * (1 - context.discount_percent / 100),
      // The parent's Date arrives as the string JSON made of it (the type says so too).
      checkedAt: parents.validate_cart.checkedAt.slice(0, 10),
    };
  })
  .build();

describe.each(BACKENDS)('a typed task on %s', (backend) => {
  test('validates its context with the zod schema and passes typed results from parent to child', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(order);
    const refused = await tasker
      .createTask({ namespace: 'shop', name: 'typed_order', context: { cart_id: 0, customer_email: 'nope' } })
      .catch((error: TaskerError) => error);
    expect(refused).toMatchObject({ code: 'TASKER_INVALID_CONTEXT' });
    expect((refused as TaskerError).details).toEqual(
      expect.arrayContaining([
        { path: 'context/cart_id', message: 'must be >= 1' },
        { path: 'context/customer_email', message: 'must match format "email"' },
      ]),
    );

    await tasker.startWorker();
    const task = await tasker.createTask({
      namespace: 'shop',
      name: 'typed_order',
      context: { cart_id: 7, customer_email: 'ada@example.com' },
    });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 20_000 });
    expect(done.context).toEqual({ cart_id: 7, customer_email: 'ada@example.com', discount_percent: 10 });
    expect(done.state).toBe('complete');
    expect(done.steps.map((s) => [s.name, s.results])).toEqual([
      [
        'validate_cart',
        {
          cartId: 7,
          items: [
            { sku: 'A', price: 10, quantity: 2 },
            { sku: 'B', price: 5, quantity: 1 },
          ],
          checkedAt: '2026-01-02T03:04:05.000Z',
        },
      ],
      ['calculate_pricing', { subtotal: 25, total: 22.5, checkedAt: '2026-01-02' }],
    ]);
  });
});
