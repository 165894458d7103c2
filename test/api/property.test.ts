/**
 * Random and malformed requests at every route: never a 500, errors are problem details, and a refused
 * request writes nothing. (The event streams are left out: a valid id opens a stream that never ends.)
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { apiFixture, rowCounts } from './api-helpers.js';

const ROUTES: Array<[method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', path: string]> = [
  ['GET', '/tasks'],
  ['POST', '/tasks'],
  ['POST', '/tasks/bulk'],
  ['GET', '/tasks/:id'],
  ['PATCH', '/tasks/:id'],
  ['DELETE', '/tasks/:id'],
  ['POST', '/tasks/:id/cancel'],
  ['POST', '/tasks/:id/retry'],
  ['GET', '/tasks/:id/transitions'],
  ['GET', '/tasks/:id/audit'],
  ['GET', '/tasks/:id/steps'],
  ['GET', '/tasks/:id/steps/:stepId'],
  ['PATCH', '/tasks/:id/steps/:stepId'],
  ['POST', '/tasks/:id/steps/:stepId/cancel'],
  ['POST', '/tasks/:id/steps/:stepId/retry'],
  ['POST', '/tasks/:id/steps/:stepId/resolve'],
  ['GET', '/tasks/:id/steps/:stepId/transitions'],
  ['GET', '/handlers'],
  ['GET', '/handlers/:namespace'],
  ['GET', '/handlers/:namespace/:name'],
  ['GET', '/health/live'],
  ['GET', '/health/ready'],
  ['GET', '/health/status'],
  ['POST', '/graphql'],
  ['GET', '/graphql'],
  ['GET', '/openapi.json'],
];

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'null',
  '-1',
  '0',
  '1e3',
  '9'.repeat(30),
  '../..',
  '%',
  '{}',
  '[]',
  "'; drop table tasks; --",
);
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), nasty);
// Mostly ids that exist (tasks 1-2, steps 1-6), so that requests reach the engine and the database.
const id = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 6 }).map(String), weight: 4 },
  fc.integer({ min: -3, max: 12 }).map(String),
  text,
);
const segment = fc.oneof(fc.constantFrom('shop', 'order', 'broken', 'default'), text);
const query = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'state',
      'limit',
      'cursor',
      'sort',
      'namespace',
      'name',
      'tag',
      'createdAfter',
      'createdBefore',
      'include',
      'version',
      'query',
      'access_token',
    ),
    fc.string({ maxLength: 8 }),
  ),
  fc.oneof(
    text,
    fc.constantFrom(
      'pending',
      'dependencies',
      'createdAt',
      '50',
      'MQ',
      '2024-01-01T00:00:00Z',
      '{ tasks { items { id } } }',
    ),
  ),
  { maxKeys: 4 },
);
const json = fc.jsonValue({ maxDepth: 3 });
const plausible = fc.record(
  {
    name: fc.oneof(fc.constantFrom('order', 'broken'), text, json),
    namespace: fc.oneof(fc.constant('shop'), text),
    context: fc.oneof(fc.record({ orderId: fc.oneof(fc.integer(), text) }), json),
    tags: fc.oneof(fc.array(text, { maxLength: 3 }), json),
    reason: fc.oneof(text, json, fc.string({ minLength: 129, maxLength: 600 })),
    retryLimit: fc.oneof(fc.integer({ min: -5, max: 2000 }), json),
    inputs: json,
    results: json,
    idempotencyKey: text,
    requestedAt: fc.oneof(text, fc.constant('2024-02-30T25:61:00Z')),
    tasks: fc.array(
      fc.record(
        { name: fc.oneof(fc.constant('order'), text), namespace: fc.constant('shop') },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    query: fc.oneof(
      text,
      fc.constant('{ tasks { items { id steps { id } } } }'),
      fc.constant('mutation { cancelTask(id: 1) { state } }'),
    ),
    variables: json,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  { arbitrary: plausible.map((b) => JSON.stringify(b)), weight: 4 },
  json.map((v) => JSON.stringify(v)),
  text, // malformed JSON
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
);

describe('property: random requests at every route', () => {
  test('no 500, problem details on errors, no partial writes', async () => {
    const f = await apiFixture('pglite');
    await f.tasker.createTask({ namespace: 'shop', name: 'order', context: { orderId: 1 } });
    await f.tasker.createTask({ namespace: 'shop', name: 'broken' });

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        id,
        id,
        segment,
        segment,
        query,
        body,
        contentType,
        async ([method, template], taskId, stepId, namespace, name, q, payload, type) => {
          const path = template
            .replace(':id', encodeURIComponent(taskId))
            .replace(':stepId', encodeURIComponent(stepId))
            .replace(':namespace', encodeURIComponent(namespace))
            .replace(':name', encodeURIComponent(name));
          const search = new URLSearchParams(q).toString();
          const before = await rowCounts(f);
          const res = await f.app.inject({
            method,
            url: `/tasker${path}${search ? `?${search}` : ''}`,
            headers: type ? { 'content-type': type } : {},
            ...(payload === undefined || method === 'GET' ? {} : { payload }),
          });
          const where = `${method} ${path}?${search} ${String(payload).slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          if (res.statusCode >= 400 && !path.startsWith('/graphql')) {
            expect(res.headers['content-type'], where).toContain('application/problem+json');
            expect(res.json(), where).toMatchObject({ status: res.statusCode, code: expect.any(String) });
            expect(await rowCounts(f), where).toEqual(before);
          }
        },
      ),
      { numRuns: 120 },
    );
  }, 240_000);
});
