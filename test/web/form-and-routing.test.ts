import { describe, expect, it } from 'vitest';
import { contextChecker } from '../../web/src/lib/context-check.js';
import { parseRoute } from '../../web/src/lib/route.js';
import { skeletonFromSchema } from '../../web/src/lib/schema-skeleton.js';
import { chartLines, ratesOf } from '../../web/src/lib/series.js';

const schema = {
  type: 'object',
  required: ['cartId', 'email'],
  properties: {
    cartId: { type: 'integer', minimum: 1 },
    email: { type: 'string', format: 'email' },
    note: { type: 'string' },
  },
  additionalProperties: false,
};

describe('the create form context check', () => {
  it('names each bad field the way the engine does', () => {
    const check = contextChecker(schema);
    const result = check('{"cartId": 0, "extra": 1}');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { path: '/email', message: 'is required' },
        { path: '/extra', message: 'is not allowed by the schema' },
        { path: '/cartId', message: 'must be >= 1' },
      ]),
    );
    expect(check('{"cartId": 3, "email": "a@example.com"}')).toEqual({
      ok: true,
      value: { cartId: 3, email: 'a@example.com' },
    });
    expect(check('{"cartId": 3, "email": "not an email"}').ok).toBe(false);
  });

  it('refuses text that is not a JSON object, and accepts anything when there is no schema', () => {
    expect(contextChecker(schema)('{oops')).toMatchObject({ ok: false, problems: [{ path: '/' }] });
    expect(contextChecker(null)('[1]')).toMatchObject({
      ok: false,
      problems: [{ message: 'must be a JSON object' }],
    });
    expect(contextChecker(null)('{"any": true}')).toEqual({ ok: true, value: { any: true } });
  });

  it('starts from a skeleton holding the required properties', () => {
    expect(skeletonFromSchema(schema)).toEqual({ cartId: 0, email: '' });
    expect(contextChecker(schema)(JSON.stringify(skeletonFromSchema(schema))).ok).toBe(false);
  });
});

describe('hash routes', () => {
  it('parses every page and refuses malformed ids', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/tasks/42')).toEqual({ page: 'task', id: 42 });
    expect(parseRoute('#/tasks/0')).toMatchObject({ page: 'not-found' });
    expect(parseRoute('#/tasks/abc')).toMatchObject({ page: 'not-found' });
    const list = parseRoute('#/tasks?state=error&namespace=shop');
    expect(list.page === 'tasks' && list.query.get('state')).toBe('error');
    expect(parseRoute('#/templates/my%20ns/order?version=1.2.0')).toEqual({
      page: 'templates',
      namespace: 'my ns',
      name: 'order',
      version: '1.2.0',
    });
  });
});

describe('overview series', () => {
  it('derives throughput and error rate from two samples a minute apart', () => {
    const samples = [
      { at: 0, byState: { complete: 10, error: 1 } },
      { at: 60_000, byState: { complete: 16, error: 3 } },
    ];
    expect(ratesOf(samples)).toEqual({ throughputPerMin: 8, errorRate: 0.25 });
    expect(ratesOf(samples.slice(0, 1))).toEqual({ throughputPerMin: null, errorRate: null });
    const [line] = chartLines(samples, ['complete'], 100, 50);
    expect(line).toEqual({ state: 'complete', last: 16, points: '0.0,18.8 100.0,0.0' });
  });
});
