import { describe, expect, it } from 'vitest';
import { exampleFromSchema } from '../../src/definitions/example-from-schema.js';
import { contextChecker } from '../../web/src/lib/context-check.js';
import { parseRoute } from '../../web/src/lib/route.js';
import { chartLayout, countTicks, historyOf, ratesOf } from '../../web/src/lib/series.js';

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

  it('starts from an example the schema accepts', () => {
    expect(exampleFromSchema(schema)).toEqual({ cartId: 1, email: 'user@example.com' });
    expect(contextChecker(schema)(JSON.stringify(exampleFromSchema(schema))).ok).toBe(true);
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

  it('buckets creations and endings in round intervals, and derives throughput and error rate', () => {
    const tasks = [
      task('complete', 9 * 60_000, 8 * 60_000),
      task('complete', 5 * 60_000, 4 * 60_000),
      task('error', 5 * 60_000, 1000),
      task('in_progress', 2 * 60_000, null),
      task('cancelled', 3 * 60_000, 2 * 60_000),
    ];
    const history = historyOf(tasks, NOW, 10);
    // The oldest task is 9 minutes old: ten buckets of a round size cover it, starting on round times.
    expect(history.bucketMs).toBe(60_000);
    expect(history.buckets).toHaveLength(10);
    expect(history.buckets.every((b) => b.at % 60_000 === 0)).toBe(true);
    expect(history.buckets.at(-1)!.at).toBeLessThanOrEqual(NOW);
    const total = (name: 'created' | 'complete' | 'error' | 'cancelled') =>
      history.buckets.reduce((sum, b) => sum + b.counts[name], 0);
    expect([total('created'), total('complete'), total('error'), total('cancelled')]).toEqual([5, 2, 1, 1]);
    const rates = ratesOf(history);
    // Cancelled tasks count in neither: one of three finished ended in error.
    expect(rates).toMatchObject({ finished: 3, failed: 1 });
    expect(rates.errorRate).toBeCloseTo(1 / 3);
    expect(rates.throughputPerMin).toBeCloseTo(3 / (rates.windowMs / 60_000));
    expect(ratesOf(historyOf([], NOW)).errorRate).toBeNull();
  });

  it('uses short round buckets for a few recent tasks, and whole-number count ticks', () => {
    const recent = historyOf([task('complete', 10_000, 5000)], NOW);
    expect(recent.bucketMs).toBe(5000);
    expect(countTicks(0)).toEqual([0, 1]);
    expect(countTicks(3)).toEqual([0, 1, 2, 3]);
    expect(countTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(countTicks(480)).toEqual([0, 100, 200, 300, 400, 500]);
  });

  it('lays out a created bar and a stack of finished ones per bucket, scaled to the count axis', () => {
    const history = historyOf(
      [task('complete', 30_000, 20_000), task('error', 30_000, 20_000), task('complete', 30_000, 20_000)],
      NOW,
    );
    const layout = chartLayout(history, 400, 100);
    expect(layout.yTicks.map((t) => t.value)).toEqual([0, 1, 2, 3]);
    expect(layout.yTicks.at(-1)!.y).toBe(0);
    const created = layout.bars.find((b) => b.created.count > 0)!;
    expect(created.created).toEqual({ y: 0, height: 100, count: 3 });
    const finished = layout.bars.find((b) => b.finished.length > 0)!;
    expect(finished.finished.map((p) => [p.name, p.count, Math.round(p.height)])).toEqual([
      ['complete', 2, 67],
      ['error', 1, 33],
    ]);
    expect(layout.totals).toEqual({ created: 3, complete: 2, error: 1, cancelled: 0 });
    expect(layout.xTicks.length).toBeGreaterThan(1);
    expect(layout.xTicks.length).toBeLessThanOrEqual(5);
  });
});
