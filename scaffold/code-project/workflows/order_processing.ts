/**
 * E-commerce order processing (the original Tasker's demo workflow), written in code: validate a cart,
 * reserve its stock, price it and create the order. Each step's `parents` has the type its parents
 * return, and `context` the type of the schema; a wrong name is a compile error.
 */
import { defineTask, PermanentError } from 'tasker-ts';
import { z } from 'zod';
import { requestJson } from './_http.ts';

interface CartItem {
  readonly product_id: number;
  readonly quantity: number;
  readonly price: number;
}

interface Cart {
  readonly id: number;
  readonly customer_email: string;
  readonly items: CartItem[];
}

const TAX_RATE = 0.2;

export const orderProcessing = defineTask({
  namespace: 'ecommerce',
  name: 'order_processing',
  version: '1.0.1',
  description: 'Validate a cart, reserve its stock, price it and create the order.',
  dependentSystem: 'shop_api',
  contextSchema: z.object({
    cart_id: z.number().int().min(1),
    customer_email: z.email(),
    discount_percent: z.number().min(0).max(100).default(0),
    api_url: z.string().default('http://127.0.0.1:4010'),
  }),
})
  // An unknown cart (404) fails the task at once.
  .step('validate_cart', { timeoutMs: 5000 }, ({ context, signal }) =>
    requestJson<Cart>(`${context.api_url}/carts/${context.cart_id}`, { signal }),
  )
  // Reserve stock for every item of the cart.
  .step('check_inventory', { dependsOn: ['validate_cart'], retryLimit: 5 }, ({ context, parents, signal }) =>
    requestJson<{ available: boolean; reserved: Array<{ product_id: number; quantity: number }> }>(
      `${context.api_url}/inventory/check`,
      { method: 'POST', body: { items: parents.validate_cart.items }, signal },
    ),
  )
  // Pure arithmetic on the parents' results: safe to run again, so retries need no care.
  .step('calculate_pricing', { dependsOn: ['validate_cart', 'check_inventory'] }, ({ context, parents }) => {
    const items = parents.validate_cart.items;
    if (items.length === 0) throw new PermanentError('the cart is empty', { code: 'EMPTY_CART' });
    const subtotal = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
    const discount = Math.round(subtotal * context.discount_percent) / 100;
    const tax = Math.round((subtotal - discount) * TAX_RATE * 100) / 100;
    return { subtotal, discount, tax, total: Math.round((subtotal - discount + tax) * 100) / 100 };
  })
  // The idempotency key makes a retry after a lost answer return the same order, not a second one.
  .step('create_order', { dependsOn: ['calculate_pricing'] }, ({ context, parents, task, signal }) =>
    requestJson<{ order_id: number; status: string; total: number }>(`${context.api_url}/orders`, {
      method: 'POST',
      headers: { 'idempotency-key': `order-task-${task.id}` },
      body: {
        cart_id: context.cart_id,
        customer_email: context.customer_email,
        total: parents.calculate_pricing.total,
      },
      signal,
    }),
  )
  .build();
