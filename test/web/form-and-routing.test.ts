import { describe, expect, it } from 'vitest';
import { contextChecker } from '../../web/src/lib/context-check.js';
import { parseRoute } from '../../web/src/lib/route.js';
import { skeletonFromSchema } from '../../web/src/lib/schema-skeleton.js';
import { chartLines, historyOf, ratesOf } from '../../web/src/lib/series.js';

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

describe('overview history', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  const NOW = Date.parse('2026-01-01T01:00:00.000Z');
  const task = (state: string, createdAgoMs: number, finishedAgoMs: number | null) => ({
    state,
    createdAt: at(NOW - createdAgoMs),
    completedAt: finishedAgoMs === null ? null : at(NOW - finishedAgoMs),
    updatedAt: at(NOW - (finishedAgoMs ?? 0)),
  });

  it('buckets creations and endings, counts active tasks, and derives throughput and error rate', () => {
    const tasks = [
      task('complete', 9 * 60_000, 8 * 60_000),
      task('complete', 5 * 60_000, 4 * 60_000),
      task('error', 5 * 60_000, 1000),
      task('in_progress', 2 * 60_000, null),
    ];
    const history = historyOf(tasks, NOW, 10);
    expect(history.bucketMs).toBe(54_000); // the oldest task is 9 minutes old: ten buckets over 9 minutes
    const total = (name: 'created' | 'complete' | 'error') =>
      history.buckets.reduce((sum, b) => sum + b.counts[name], 0);
    expect([total('created'), total('complete'), total('error')]).toEqual([4, 2, 1]);
    expect(history.buckets[9]!.counts.active).toBe(2); // the erroring task until its end, and the running one
    expect(history.buckets[0]!.counts.active).toBe(1);
    const rates = ratesOf(history);
    expect(rates.errorRate).toBeCloseTo(1 / 3);
    expect(rates.throughputPerMin).toBeCloseTo(3 / 9);
    expect(ratesOf(historyOf([], NOW)).errorRate).toBeNull();
    const [line] = chartLines(history, ['created'], 90, 10);
    expect(line!.total).toBe(4);
    expect(line!.points.split(' ')).toHaveLength(10);
  });
});
