/**
 * exampleFromSchema: the examples it builds are valid for their schemas (checked with the engine's ajv
 * settings), for hand-picked schemas, the project's own templates and random schemas.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exampleFromSchema } from '../../src/definitions/example-from-schema.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

function expectValid(schema: Record<string, unknown>, value = exampleFromSchema(schema)): void {
  const validate = ajv.compile(schema);
  expect(validate(value), `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

describe('exampleFromSchema', () => {
  it("takes the schema's own words first: default, examples, const, enum", () => {
    expect(exampleFromSchema({ type: 'integer', default: 5, examples: [7] })).toBe(5);
    expect(exampleFromSchema({ type: 'string', examples: ['ada@example.com'] })).toBe('ada@example.com');
    expect(exampleFromSchema({ type: 'string', example: 'draft-04 style' })).toBe('draft-04 style');
    expect(exampleFromSchema({ const: 'fixed' })).toBe('fixed');
    expect(exampleFromSchema({ type: 'string', enum: ['small', 'large'] })).toBe('small');
  });

  it('fills the required properties and the ones that carry a default or an example, by type', () => {
    const schema = {
      type: 'object',
      required: ['cart_id', 'customer_email', 'items', 'express'],
      properties: {
        cart_id: { type: 'integer', minimum: 1 },
        customer_email: { type: 'string', format: 'email' },
        items: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['sku'],
            properties: { sku: { type: 'string', pattern: '^[A-Z]{3}$' } },
          },
        },
        express: { type: 'boolean' },
        discount_percent: { type: 'number', minimum: 0, maximum: 100, default: 0 },
        note: { type: 'string' },
      },
      additionalProperties: false,
    };
    expect(exampleFromSchema(schema)).toEqual({
      cart_id: 1,
      customer_email: 'user@example.com',
      items: [{ sku: 'ABC' }],
      express: false,
      discount_percent: 0,
    });
    expectValid(schema);
  });

  it('honours bounds, multiples, lengths and formats', () => {
    expect(exampleFromSchema({ type: 'integer', exclusiveMinimum: 0 })).toBe(1);
    expect(exampleFromSchema({ type: 'integer', minimum: 3, multipleOf: 5 })).toBe(5);
    expect(exampleFromSchema({ type: 'integer', maximum: -3 })).toBe(-3);
    expect(exampleFromSchema({ type: 'number', minimum: 0.5, maximum: 0.7 })).toBe(0.6);
    expect(exampleFromSchema({ type: 'number', minimum: 0.25, multipleOf: 0.1 })).toBe(0.3);
    expect(exampleFromSchema({ type: 'string', minLength: 10 })).toBe('examplexxx');
    expect(exampleFromSchema({ type: 'string', maxLength: 3 })).toBe('exa');
    for (const format of [
      'email',
      'uri',
      'date-time',
      'date',
      'time',
      'uuid',
      'ipv4',
      'ipv6',
      'hostname',
      'duration',
    ]) {
      expectValid({ type: 'string', format });
    }
  });

  it('follows local references, merges allOf, picks the first non-null branch of anyOf/oneOf', () => {
    const schema = {
      type: 'object',
      required: ['customer', 'when', 'size'],
      properties: {
        customer: { $ref: '#/$defs/customer' },
        when: { anyOf: [{ type: 'null' }, { type: 'string', format: 'date' }] },
        size: { oneOf: [{ type: 'integer', minimum: 2 }, { type: 'string' }] },
      },
      $defs: {
        customer: {
          allOf: [
            { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
            {
              type: 'object',
              required: ['email'],
              properties: { email: { type: 'string', format: 'email' } },
            },
          ],
        },
      },
    };
    expect(exampleFromSchema(schema)).toEqual({
      customer: { id: 1, email: 'user@example.com' },
      when: '2024-01-01',
      size: 2,
    });
    expectValid(schema);
  });

  it('gives {} for a schema that says nothing, and stops on a reference to itself', () => {
    expect(exampleFromSchema(null)).toEqual({});
    expect(exampleFromSchema({})).toEqual({});
    expect(exampleFromSchema({ type: 'object' })).toEqual({});
    const tree = { type: 'object', required: ['child'], properties: { child: { $ref: '#' } } };
    expect(() => exampleFromSchema(tree)).not.toThrow();
  });

  it('is valid for the context schema of every template the scaffold ships', () => {
    const dir = join(import.meta.dirname, '../../scaffold/project/templates');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const schema = (parse(readFileSync(join(dir, file), 'utf8')) as { schema?: Record<string, unknown> })
        .schema;
      if (schema) expectValid(schema);
    }
  });

  it('is valid for random object schemas built from the keywords it handles', () => {
    const leaf = fc.oneof(
      fc
        .record({
          minimum: fc.integer({ min: -50, max: 50 }),
          span: fc.integer({ min: 0, max: 40 }),
          multipleOf: fc.constantFrom(1, 2, 5),
        })
        .filter(
          ({ minimum, span, multipleOf }) =>
            Math.floor((minimum + span) / multipleOf) * multipleOf >= minimum,
        )
        .map(({ minimum, span, multipleOf }) => ({
          type: 'integer',
          minimum,
          maximum: minimum + span,
          multipleOf,
        })),
      fc
        .record({
          exclusiveMinimum: fc.oneof(
            fc.integer({ min: -10, max: 10 }),
            fc.double({ min: -10, max: 10, noNaN: true }),
          ),
        })
        .map((s) => ({ type: 'number', ...s })),
      fc
        .record({ minLength: fc.integer({ min: 0, max: 12 }), extra: fc.integer({ min: 0, max: 12 }) })
        .map(({ minLength, extra }) => ({ type: 'string', minLength, maxLength: minLength + extra })),
      fc.constantFrom('email', 'uri', 'date-time', 'uuid').map((format) => ({ type: 'string', format })),
      fc
        .uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 })
        .map((values) => ({ enum: values })),
      fc.constant({ type: 'boolean' }),
      fc.constant({ type: ['string', 'null'] }),
    );
    const schema = fc
      .dictionary(
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.oneof(
          leaf,
          leaf.map((items) => ({ type: 'array', items, minItems: 2 })),
        ),
        { maxKeys: 6 },
      )
      .chain((properties) =>
        fc.subarray(Object.keys(properties)).map((required) => ({
          type: 'object',
          properties,
          required,
          additionalProperties: false,
        })),
      );
    fc.assert(
      fc.property(schema, (s) => {
        expectValid(s);
      }),
      { numRuns: 300 },
    );
  });
});
