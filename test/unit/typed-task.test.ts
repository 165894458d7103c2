import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type TaskerError } from '../../src/index.js';

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return (error as TaskerError).details ?? [];
  }
  throw new Error('expected a TaskerError');
}

describe('defineTask without steps: the typed builder', () => {
  const fetchCart = async () => ({ items: [1, 2] });
  const price = async () => ({ total: 3 });

  it('builds the same template as the plain definition', () => {
    const built = defineTask({ namespace: 'shop', name: 'order', version: '1.2.0' })
      .step('fetch_cart', fetchCart)
      .step('price', { dependsOn: ['fetch_cart'], retryLimit: 5, timeoutMs: 1000 }, price)
      .build();
    const plain = defineTask({
      namespace: 'shop',
      name: 'order',
      version: '1.2.0',
      steps: [
        { name: 'fetch_cart', handler: fetchCart },
        { name: 'price', dependsOn: ['fetch_cart'], retryLimit: 5, timeoutMs: 1000, handler: price },
      ],
    });
    expect(built).toEqual(plain);
    expect(built.hash).toBe(plain.hash);
  });

  it('turns a zod context schema into JSON Schema (input shape: defaults optional)', () => {
    const template = defineTask({
      name: 'zod_context',
      contextSchema: z.object({ cart_id: z.number().int().min(1), discount: z.number().default(0) }),
    })
      .step('a', () => null)
      .build();
    expect(template.contextSchema).toMatchObject({
      type: 'object',
      required: ['cart_id'],
      properties: { cart_id: { type: 'integer', minimum: 1 }, discount: { type: 'number', default: 0 } },
    });
  });

  it('refuses a zod schema JSON Schema cannot express, and a zod 3 schema, saying why', () => {
    const transformed = problemsOf(() =>
      defineTask({ name: 't', contextSchema: z.object({ at: z.string().transform((s) => new Date(s)) }) })
        .step('a', () => null)
        .build(),
    );
    expect(transformed[0]).toMatchObject({
      path: 'contextSchema',
      message: expect.stringContaining('JSON Schema'),
    });
    const zod3Like = { _def: { typeName: 'ZodObject' }, safeParse: () => ({ success: true }) };
    expect(
      problemsOf(() =>
        defineTask({ name: 't', contextSchema: zod3Like, steps: [{ name: 'a', handler: () => 1 }] }),
      ),
    ).toEqual([{ path: 'contextSchema', message: expect.stringContaining('zod 3') }]);
  });

  it('is immutable: each step returns a new builder, so one base can branch', () => {
    const base = defineTask({ name: 'base' }).step('a', () => 1);
    const one = base.step('b', { dependsOn: ['a'] }, () => 2).build();
    const other = base.step('c', () => 3).build();
    expect(one.steps.map((s) => s.name)).toEqual(['a', 'b']);
    expect(other.steps.map((s) => s.name)).toEqual(['a', 'c']);
  });

  it('checks at build time what types cannot (plain JavaScript callers): names, unknown options, no steps', () => {
    const loose = defineTask({ name: 'loose' }) as unknown as {
      step(...args: unknown[]): { build(): unknown; step(...args: unknown[]): { build(): unknown } };
      build(): unknown;
    };
    expect(problemsOf(() => loose.build())).toEqual([
      { path: 'steps', message: 'expected at least one step' },
    ]);
    expect(problemsOf(() => loose.step('a', { dependson: ['x'] }, () => 1).build())[0]!.message).toContain(
      '"dependson"',
    );
    expect(
      problemsOf(() =>
        loose
          .step('a', () => 1)
          .step('b', { dependsOn: ['z'] }, () => 1)
          .build(),
      )[0],
    ).toMatchObject({ path: 'steps[1].dependsOn[0]', message: expect.stringContaining('unknown step "z"') });
    expect(() => loose.step('a', 'http', () => 1)).toThrow(
      /expected its options \(an object\) before the handler/,
    );
  });
});
