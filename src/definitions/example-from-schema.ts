/**
 * An example value for a JSON Schema: what the dashboard's new-task form is prefilled with, and what a
 * generated test can start from. Pure (no Node APIs), so the dashboard bundles the same code the CLI runs.
 *
 * Taken from the schema's own words first: `default`, then `examples[0]` (or draft-04's `example`), then
 * `const`, then `enum[0]`. Otherwise built by type: an object gets its required properties and the ones
 * that carry a default or an example; a string honours `format`, length bounds and (when a simple candidate
 * matches) `pattern`; a number honours its bounds and `multipleOf`; an array gets `minItems` items. Local
 * `$ref`s (`#/$defs/...`, `#/definitions/...`) are followed; `allOf` parts are merged; for `anyOf`/`oneOf`
 * the first branch that is not `null` is used.
 *
 * The result is valid for the schema whenever the schema says enough to build one; where it cannot be
 * (a pattern no candidate matches, contradictory keywords), the value is the closest guess and the
 * schema's validator says what is wrong.
 */

type Schema = Readonly<Record<string, unknown>>;

const FORMATS: Readonly<Record<string, string>> = {
  email: 'user@example.com',
  'idn-email': 'user@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  iri: 'https://example.com',
  'uri-reference': '/example',
  'iri-reference': '/example',
  'uri-template': 'https://example.com/{id}',
  hostname: 'example.com',
  'idn-hostname': 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00Z',
  duration: 'P1D',
  uuid: '00000000-0000-4000-8000-000000000000',
  regex: '.*',
  'json-pointer': '/example',
  'relative-json-pointer': '0',
  byte: 'ZXhhbXBsZQ==',
};

/** Tried in turn against a `pattern` when no format applies. */
const PATTERN_CANDIDATES = [
  'example',
  'EXAMPLE',
  'abc',
  'ABC',
  'a',
  'A',
  '1',
  '123',
  'a1',
  'A1',
  'a-b',
  'a_b',
  '',
];

const MAX_DEPTH = 12;

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Resolves a local reference (`#`, `#/$defs/x`, `#/definitions/x`) against the root schema. */
function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const path = ref.slice(1).split('/').filter(Boolean);
  let node: unknown = root;
  for (const raw of path) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isSchema(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function typeOf(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const types = type.filter((t): t is string => typeof t === 'string');
    return types.find((t) => t !== 'null') ?? types[0];
  }
  if (isSchema(schema.properties) || Array.isArray(schema.required)) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  if (['minLength', 'maxLength', 'pattern', 'format'].some((k) => k in schema)) return 'string';
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'].some((k) => k in schema)) {
    return 'number';
  }
  return undefined;
}

function numberExample(schema: Schema, integer: boolean): number {
  const multipleOf =
    typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : null;
  const step = multipleOf ?? 1;
  // Draft-04 writes exclusive bounds as booleans beside minimum/maximum; later drafts as numbers.
  let low = -Infinity;
  let lowExclusive = false;
  if (typeof schema.minimum === 'number') {
    low = schema.minimum;
    lowExclusive = schema.exclusiveMinimum === true;
  }
  if (typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum >= low) {
    low = schema.exclusiveMinimum;
    lowExclusive = true;
  }
  let high = Infinity;
  let highExclusive = false;
  if (typeof schema.maximum === 'number') {
    high = schema.maximum;
    highExclusive = schema.exclusiveMaximum === true;
  }
  if (typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum <= high) {
    high = schema.exclusiveMaximum;
    highExclusive = true;
  }
  const fits = (v: number) => (lowExclusive ? v > low : v >= low) && (highExclusive ? v < high : v <= high);
  // The multiple of `step` nearest to 0 that fits: from the lower bound up, else from the upper bound down.
  const start = Number.isFinite(low) ? low : Number.isFinite(high) && high < 0 ? high : 0;
  let value = Math.ceil(start / step) * step;
  if (!fits(value)) value += step;
  if (!fits(value) && Number.isFinite(high)) {
    value = Math.floor(high / step) * step;
    if (!fits(value)) value -= step;
  }
  // A number between close bounds (0.5 to 0.7) fits no whole step: take the middle.
  if (!fits(value) && !integer && multipleOf === null && Number.isFinite(low) && Number.isFinite(high)) {
    value = (low + high) / 2;
  }
  // Float steps (0.1) leave noise such as 0.30000000000000004.
  return Number(value.toPrecision(12));
}

function stringExample(schema: Schema): string {
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  const fitLength = (text: string) => {
    const padded = text.length < min ? text + 'x'.repeat(min - text.length) : text;
    return padded.length > max ? padded.slice(0, max) : padded;
  };
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  if (format !== undefined) return format;
  if (typeof schema.pattern === 'string') {
    let pattern: RegExp | null = null;
    try {
      pattern = new RegExp(schema.pattern, 'u');
    } catch {
      pattern = null;
    }
    const match = pattern && PATTERN_CANDIDATES.map(fitLength).find((c) => pattern!.test(c));
    if (match !== undefined && match !== null) return match;
  }
  return fitLength('example');
}

function merge(parts: unknown[]): unknown {
  const defined = parts.filter((p) => p !== undefined);
  if (defined.length > 0 && defined.every(isSchema)) return Object.assign({}, ...defined);
  return defined[0];
}

function build(schema: unknown, root: unknown, depth: number): unknown {
  if (schema === true) return {};
  if (!isSchema(schema) || depth > MAX_DEPTH) return undefined;
  if (typeof schema.$ref === 'string') {
    const target = resolveRef(root, schema.$ref);
    const { $ref: _ref, ...rest } = schema;
    const fromRef = build(target, root, depth + 1);
    return Object.keys(rest).length === 0 ? fromRef : merge([fromRef, build(rest, root, depth + 1)]);
  }
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('example' in schema) return schema.example;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const { allOf, ...rest } = schema;
    const own = Object.keys(rest).length > 0 ? build(rest, root, depth + 1) : undefined;
    return merge([own, ...allOf.map((part) => build(part, root, depth + 1))]);
  }
  for (const key of ['oneOf', 'anyOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((b) => !(isSchema(b) && b.type === 'null')) ?? branches[0];
      const { [key]: _branches, ...rest } = schema;
      const own = Object.keys(rest).length > 0 ? build(rest, root, depth + 1) : undefined;
      return merge([own, build(branch, root, depth + 1)]);
    }
  }
  switch (typeOf(schema)) {
    case 'object': {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const required = new Set(
        Array.isArray(schema.required)
          ? schema.required.filter((k): k is string => typeof k === 'string')
          : [],
      );
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(properties)) {
        const informative =
          isSchema(property) && ('default' in property || 'examples' in property || 'example' in property);
        if (!required.has(key) && !informative) continue;
        const value = build(property, root, depth + 1);
        out[key] = value === undefined ? null : value;
      }
      // Required names the schema lists but does not describe: anything will do.
      for (const key of required) if (!(key in out)) out[key] = null;
      return out;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const tuple = Array.isArray(schema.prefixItems)
        ? schema.prefixItems
        : Array.isArray(schema.items)
          ? schema.items
          : [];
      const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
      const out: unknown[] = tuple.map((item) => build(item, root, depth + 1) ?? null);
      while (out.length < min) out.push(build(rest, root, depth + 1) ?? null);
      return out;
    }
    case 'string':
      return stringExample(schema);
    case 'integer':
      return numberExample(schema, true);
    case 'number':
      return numberExample(schema, false);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return undefined;
  }
}

/**
 * An example value for `schema` (see the module comment). A schema that says nothing gives `{}` when
 * `fallback` is left as is: a task context is an object.
 *
 * @example
 * exampleFromSchema({
 *   type: 'object',
 *   required: ['cart_id', 'customer_email'],
 *   properties: {
 *     cart_id: { type: 'integer', minimum: 1 },
 *     customer_email: { type: 'string', format: 'email' },
 *     discount_percent: { type: 'number', default: 0 },
 *   },
 * }); // { cart_id: 1, customer_email: 'user@example.com', discount_percent: 0 }
 */
export function exampleFromSchema(schema: unknown, fallback: unknown = {}): unknown {
  const value = build(schema, schema, 0);
  return value === undefined ? fallback : value;
}
