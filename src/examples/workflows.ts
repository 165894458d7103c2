/**
 * The example workflows of `npm start`: an e-commerce order (validate_cart -> check_inventory ->
 * calculate_pricing -> create_order, where check_inventory fails its first attempt with a
 * RetryableError so a retry shows) and a diamond (start -> left, right -> merge). Handlers are pure
 * computations over the context and parent results, so the examples need nothing but the engine.
 */
import { defineTask } from '../definitions/define-task.js';
import type { StepContext, TaskTemplate } from '../definitions/types.js';
import { PermanentError, RetryableError } from '../errors.js';

interface CartItem {
  readonly sku: string;
  readonly quantity: number;
  readonly price: number;
}
interface OrderContext {
  readonly cartId: number;
  readonly customer: string;
  readonly items: readonly CartItem[];
  readonly couponPercent: number;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** A little latency, so that progress is visible (the work itself takes microseconds). */
const WORK_MS = 250;

export const orderProcessing: TaskTemplate = defineTask<OrderContext>({
  namespace: 'ecommerce',
  name: 'order_processing',
  version: '1.0.0',
  description: 'Validates a cart, reserves inventory, prices the order and creates it.',
  contextSchema: {
    type: 'object',
    required: ['cartId', 'customer', 'items'],
    properties: {
      cartId: { type: 'integer', minimum: 1 },
      customer: { type: 'string', minLength: 1 },
      couponPercent: { type: 'integer', minimum: 0, maximum: 100, default: 0 },
      items: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['sku', 'quantity', 'price'],
          properties: {
            sku: { type: 'string' },
            quantity: { type: 'integer', minimum: 1 },
            price: { type: 'number', minimum: 0 },
          },
        },
      },
    },
  },
  steps: [
    {
      name: 'validate_cart',
      description: 'Checks the cart and counts its items.',
      handler: async (ctx: StepContext<OrderContext>) => {
        await pause(WORK_MS, ctx.signal);
        const items = ctx.context.items;
        if (items.some((i) => i.quantity <= 0)) {
          throw new PermanentError('a cart item has no quantity', { code: 'INVALID_CART' });
        }
        return { cartId: ctx.context.cartId, itemCount: items.reduce((n, i) => n + i.quantity, 0) };
      },
    },
    {
      name: 'check_inventory',
      dependsOn: ['validate_cart'],
      description: 'Reserves stock; the inventory service is "busy" on the first attempt.',
      retryLimit: 3,
      handler: async (ctx: StepContext<OrderContext>) => {
        await pause(WORK_MS, ctx.signal);
        if (ctx.attempt === 1) {
          throw new RetryableError('inventory service busy, try again shortly', { retryAfterMs: 500 });
        }
        return {
          reserved: ctx.context.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
          attempt: ctx.attempt,
        };
      },
    },
    {
      name: 'calculate_pricing',
      dependsOn: ['check_inventory'],
      description: 'Subtotal, discount and total.',
      handler: async (ctx: StepContext<OrderContext>) => {
        await pause(WORK_MS, ctx.signal);
        const subtotal = ctx.context.items.reduce((sum, i) => sum + i.quantity * i.price, 0);
        const discount = Math.round(subtotal * ctx.context.couponPercent) / 100;
        return { subtotal, discount, total: Math.round((subtotal - discount) * 100) / 100 };
      },
    },
    {
      name: 'create_order',
      dependsOn: ['calculate_pricing'],
      description: 'Creates the order from the priced cart.',
      handler: async (ctx: StepContext<OrderContext>) => {
        await pause(WORK_MS, ctx.signal);
        const pricing = ctx.parents.calculate_pricing as { total: number };
        return {
          orderNumber: `ORD-${ctx.context.cartId}-${ctx.task.id}`,
          customer: ctx.context.customer,
          total: pricing.total,
        };
      },
    },
  ],
});

interface DiamondContext {
  readonly value: number;
}

export const diamond: TaskTemplate = defineTask<DiamondContext>({
  namespace: 'examples',
  name: 'diamond',
  version: '1.0.0',
  description: 'start -> (left, right) -> merge: left and right run in parallel, merge waits for both.',
  contextSchema: {
    type: 'object',
    required: ['value'],
    properties: { value: { type: 'number' } },
  },
  steps: [
    {
      name: 'start',
      handler: async (ctx: StepContext<DiamondContext>) => {
        await pause(WORK_MS, ctx.signal);
        return { value: ctx.context.value };
      },
    },
    {
      name: 'left',
      dependsOn: ['start'],
      handler: async (ctx: StepContext<DiamondContext>) => {
        await pause(WORK_MS * 2, ctx.signal);
        return { squared: (ctx.parents.start as { value: number }).value ** 2 };
      },
    },
    {
      name: 'right',
      dependsOn: ['start'],
      handler: async (ctx: StepContext<DiamondContext>) => {
        await pause(WORK_MS * 2, ctx.signal);
        return { doubled: (ctx.parents.start as { value: number }).value * 2 };
      },
    },
    {
      name: 'merge',
      dependsOn: ['left', 'right'],
      handler: async (ctx: StepContext<DiamondContext>) => {
        await pause(WORK_MS, ctx.signal);
        const { squared } = ctx.parents.left as { squared: number };
        const { doubled } = ctx.parents.right as { doubled: number };
        return { sum: squared + doubled };
      },
    },
  ],
});

export const EXAMPLE_TEMPLATES: readonly TaskTemplate[] = [orderProcessing, diamond];
