/**
 * GraphQL cost limits: hostile queries (hundreds of aliases, deep nesting, lists of lists, a huge
 * document) are refused with TASKER_QUERY_TOO_COMPLEX before anything runs (no engine call is made);
 * ordinary queries, GraphiQL's introspection and variables within the limits pass.
 */
import { getIntrospectionQuery } from 'graphql';
import { describe, expect, test, vi } from 'vitest';
import type { CreateApiServerOptions } from '../../src/api/index.js';
import { apiFixture } from './api-helpers.js';

async function fixture(options: Omit<CreateApiServerOptions, 'tasker'> = {}) {
  const f = await apiFixture('pglite', options);
  await f.tasker.createTasks(
    Array.from({ length: 3 }, (_, i) => ({ namespace: 'shop', name: 'order', context: { orderId: i } })),
  );
  // Every engine call a GraphQL resolver can make: none may run for a refused query.
  const spies = (
    [
      'listTasks',
      'getTask',
      'getStep',
      'getStepsOfTasks',
      'getTaskTransitions',
      'getStepTransitions',
      'templates',
    ] as const
  ).map((name) => vi.spyOn(f.tasker, name));
  const calls = () => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await f.app.inject({ method: 'POST', url: '/tasker/graphql', payload: { query, variables } });
    return {
      status: res.statusCode,
      body: res.json() as {
        data?: unknown;
        errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
      },
    };
  };
  return { ...f, gql, calls };
}

function expectRefused(
  result: {
    status: number;
    body: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  },
  message: RegExp,
) {
  expect(result.status).toBe(400);
  expect(result.body.errors?.[0]).toMatchObject({
    message: expect.stringMatching(message),
    extensions: { code: 'TASKER_QUERY_TOO_COMPLEX', status: 400 },
  });
}

const heavyList = 'tasks(limit: 100) { items { id steps { name transitions { toState metadata } } } }';

describe('GraphQL cost limits', () => {
  test('hundreds of aliases of a heavy list are refused before any resolver runs', async () => {
    const f = await fixture();
    const aliased = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${heavyList}`).join(' ')} }`;
    const result = await f.gql(aliased(100));
    expectRefused(result, /Aliases limit of 15 exceeded, found 100/);
    expect(result.body.data ?? null).toBeNull();
    // 300 of them: the document is refused by its size already.
    expectRefused(await f.gql(aliased(300)), /more than 5000 tokens/);
    expect(f.calls()).toBe(0);
  });

  test('the estimated cost counts list sizes, including a limit given in a variable', async () => {
    const f = await fixture({ graphql: { maxComplexity: 1000 } });
    // One list of lists of lists, no alias: the cost refuses it.
    expectRefused(await f.gql(`{ ${heavyList} }`), /estimated cost is \d+, above the limit of 1000/);
    const page = 'query ($n: Int) { tasks(limit: $n) { items { id state steps { name state } } } }';
    expectRefused(await f.gql(page, { n: 100 }), /above the limit of 1000/);
    expect(f.calls()).toBe(0);
    const small = await f.gql(page, { n: 5 });
    expect(small.status).toBe(200);
    expect(small.body.errors).toBeUndefined();
    expect((small.body.data as { tasks: { items: unknown[] } }).tasks.items).toHaveLength(3);
  });

  test('depth and aliases follow the options; tokens are bounded', async () => {
    const f = await fixture({ graphql: { maxDepth: 3, maxAliases: 1 } });
    expectRefused(
      await f.gql('{ tasks { items { steps { transitions { toState } } } } }'),
      /depth limit of 3 exceeded, found 5/,
    );
    expectRefused(
      await f.gql('{ a: handlers { namespace } b: handlers { namespace } }'),
      /Aliases limit of 1/,
    );
    expectRefused(await f.gql(`{ ${'handlers { namespace } '.repeat(2000)} }`), /more than 5000 tokens/);
    expect(f.calls()).toBe(0);
  });

  test('ordinary queries and GraphiQL introspection pass with the default limits', async () => {
    const f = await fixture();
    const listed = await f.gql(
      '{ tasks(limit: 50) { nextCursor items { id state steps { name state parentIds } } } }',
    );
    expect(listed.body.errors).toBeUndefined();
    expect((listed.body.data as { tasks: { items: unknown[] } }).tasks.items).toHaveLength(3);
    const introspection = await f.gql(getIntrospectionQuery());
    expect(introspection.body.errors).toBeUndefined();
    expect(introspection.status).toBe(200);
  });
});
