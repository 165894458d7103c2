/**
 * Type tests of defineTask (checked by `npm run typecheck`, never run): the typed builder infers each
 * handler's `context` from the context schema and its `parents` from what the parent handlers return;
 * wrong parent names, later steps and repeated names are type errors; plain definitions keep compiling.
 */
import { expectTypeOf } from 'vitest';
import { z } from 'zod';
import { defineTask, type StepContext, type TaskTemplate } from '../../src/index.js';

const orderSchema = z.object({
  cart_id: z.number().int().min(1),
  customer_email: z.email(),
  discount_percent: z.number().min(0).max(100).default(0),
  note: z.string().optional(),
});

const order = defineTask({ namespace: 'shop', name: 'order', version: '1.0.0', contextSchema: orderSchema })
  .step('validate_cart', async ({ context }) => {
    // The zod schema's output: defaults filled in, optional stays optional.
    expectTypeOf(context).toEqualTypeOf<{
      cart_id: number;
      customer_email: string;
      discount_percent: number;
      note?: string | undefined;
    }>();
    return { items: [{ sku: 'A-1', quantity: 2 }], checkedAt: new Date(), audit: () => 'not stored' };
  })
  .step('check_inventory', { dependsOn: ['validate_cart'], retryLimit: 5 }, ({ parents }) => {
    // What validate_cart returned, as it comes back from the database: the Date as a string, no function.
    expectTypeOf(parents.validate_cart).toEqualTypeOf<{
      items: { sku: string; quantity: number }[];
      checkedAt: string;
    }>();
    // @ts-expect-error: calculate_pricing is not a parent of this step
    parents.calculate_pricing;
    return parents.validate_cart.items.reduce((sum, item) => sum + item.quantity, 0);
  })
  .step('notify', async () => {
    // A handler that returns nothing: its children get null.
  })
  .step(
    'calculate_pricing',
    { dependsOn: ['validate_cart', 'check_inventory', 'notify'] },
    async ({ context, parents }) => {
      expectTypeOf(parents.check_inventory).toEqualTypeOf<number>();
      expectTypeOf(parents.notify).toEqualTypeOf<null>();
      expectTypeOf(parents).not.toHaveProperty('calculate_pricing');
      return { total: parents.check_inventory * (1 - context.discount_percent / 100) };
    },
  )
  .step('create_order', { dependsOn: ['calculate_pricing'] }, ({ parents }) => {
    expectTypeOf(parents.calculate_pricing.total).toEqualTypeOf<number>();
  })
  .build();
expectTypeOf(order).toEqualTypeOf<TaskTemplate>();

// A parent that does not exist, or is defined later, is refused where it is named.
defineTask({ name: 'wrong_parent' })
  .step('a', () => 1)
  // @ts-expect-error: "b" is not a step defined before this one
  .step('c', { dependsOn: ['b'] }, () => 2);

defineTask({ name: 'first_cannot_depend' })
  // @ts-expect-error: no step is defined before the first one
  .step('a', { dependsOn: ['a'] }, () => 1);

// A step name used twice is refused.
defineTask({ name: 'twice' })
  .step('a', () => 1)
  // @ts-expect-error: "a" is used already
  .step('a', () => 2);

// A step that may be bypassed gives its children an optional result; a named handler an unknown one.
defineTask({ name: 'optional_parent' })
  .step('maybe', { skippable: true }, () => ({ ok: true }))
  .step('fetch', { config: { url: 'https://example.com' } }, 'http')
  .step('after', { dependsOn: ['maybe', 'fetch'] }, ({ parents }) => {
    expectTypeOf(parents.maybe).toEqualTypeOf<{ ok: boolean } | undefined>();
    expectTypeOf(parents.fetch).toEqualTypeOf<unknown>();
    // @ts-expect-error: parents are read-only
    parents.fetch = 1;
  });

// Without a schema, or with a JSON Schema, the context is a plain record.
defineTask({
  name: 'json_schema',
  contextSchema: { type: 'object', properties: { n: { type: 'integer' } } },
}).step('a', ({ context }) => {
  expectTypeOf(context).toEqualTypeOf<Record<string, unknown>>();
});

// Plain definitions keep compiling as before: an explicit context type, parents as a record.
interface LegacyContext {
  readonly batch: number;
}
const legacy = defineTask<LegacyContext>({
  name: 'legacy',
  contextSchema: { type: 'object', properties: { batch: { type: 'integer' } } },
  steps: [
    { name: 'extract', handler: async ({ context }) => ({ rows: context.batch }) },
    {
      name: 'load',
      dependsOn: ['extract'],
      handler: async (ctx: StepContext<LegacyContext>) => {
        expectTypeOf(ctx.parents).toEqualTypeOf<Readonly<Record<string, unknown>>>();
        return ctx.parents.extract;
      },
    },
  ],
});
expectTypeOf(legacy).toEqualTypeOf<TaskTemplate>();

// A plain definition with a zod schema types its handlers' context too.
defineTask({
  name: 'plain_with_zod',
  contextSchema: z.object({ batch: z.number() }),
  steps: [
    {
      name: 'extract',
      handler: async ({ context }) => {
        expectTypeOf(context).toEqualTypeOf<{ batch: number }>();
      },
    },
  ],
});
