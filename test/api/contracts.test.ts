/**
 * One contract per request shape (src/model/contracts.ts): the library, the REST routes and the GraphQL
 * inputs accept the same fields with the same limits. GraphQL's fields are read by introspection from the
 * running server, so a field added to one surface and not the contract fails here.
 */
import { describe, expect, test } from 'vitest';
import {
  createTaskRequestSchema,
  createTaskRequestWireSchema,
  listTasksQuerySchema,
  stepUpdateSchema,
  taskUpdateSchema,
  wireJsonSchema,
} from '../../src/model/contracts.js';
import { BACKENDS } from '../helpers.js';
import { apiFixture } from './api-helpers.js';

type Fixture = Awaited<ReturnType<typeof apiFixture>>;

async function listening(f: Fixture): Promise<string> {
  const address = await f.app.listen({ port: 0, host: '127.0.0.1' });
  return `${address}/tasker`;
}

async function post(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads answers of several shapes
  return { status: res.status, body: (await res.json()) as any };
}

const gql = (base: string, query: string, variables: Record<string, unknown> = {}) =>
  post(base, '/graphql', { query, variables });

test('the routes get plain JSON Schemas: nullable as a type list, date-times by format', () => {
  const update = wireJsonSchema(taskUpdateSchema) as { properties: Record<string, unknown> };
  expect(update.properties.reason).toEqual({ type: ['string', 'null'], maxLength: 128 });
  const create = wireJsonSchema(createTaskRequestWireSchema) as { properties: Record<string, unknown> };
  expect(create.properties.requestedAt).toEqual({ type: 'string', format: 'date-time' });
  expect(create).toMatchObject({ required: ['name'], additionalProperties: false });
});

describe.each(BACKENDS)('request contracts on %s', (backend) => {
  test('every GraphQL input field and argument is a field of its contract', async () => {
    const f = await apiFixture(backend);
    const base = await listening(f);
    const input = await gql(base, '{ __type(name: "CreateTaskInput") { inputFields { name } } }');
    const inputFields = input.body.data.__type.inputFields.map((x: { name: string }) => x.name).sort();
    // Both ways: GraphQL takes exactly what the contract describes.
    expect(inputFields).toEqual(Object.keys(createTaskRequestWireSchema.shape).sort());
    expect(Object.keys(createTaskRequestSchema.shape).sort()).toEqual(inputFields);

    const root = await gql(
      base,
      '{ __schema { queryType { fields { name args { name } } } mutationType { fields { name args { name } } } } }',
    );
    const argsOf = (type: 'queryType' | 'mutationType', name: string): string[] =>
      root.body.data.__schema[type].fields
        .find((field: { name: string }) => field.name === name)
        .args.map((a: { name: string }) => a.name);
    for (const arg of argsOf('queryType', 'tasks')) {
      expect(Object.keys(listTasksQuerySchema.shape), `tasks(${arg})`).toContain(arg);
    }
    for (const arg of argsOf('mutationType', 'updateStep').filter((a) => a !== 'id')) {
      expect(Object.keys(stepUpdateSchema.shape), `updateStep(${arg})`).toContain(arg);
    }
  });

  test('REST and GraphQL take traceparent and requestedAt as the library does', async () => {
    const f = await apiFixture(backend);
    const base = await listening(f);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const requestedAt = '2026-01-02T03:04:05.000Z';
    const rest = await post(base, '/tasks', {
      namespace: 'shop',
      name: 'order',
      context: { orderId: 1 },
      traceparent,
      requestedAt,
    });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect(rest.body).toMatchObject({ traceparent, requestedAt });
    expect(rest.body).not.toHaveProperty('steps');

    const viaGql = await gql(
      base,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { id traceparent requestedAt } }`,
      { input: { namespace: 'shop', name: 'order', context: { orderId: 2 }, traceparent, requestedAt } },
    );
    expect(viaGql.body.errors).toBeUndefined();
    expect(viaGql.body.data.createTask).toMatchObject({ traceparent, requestedAt });
    const stored = await f.tasker.getTask(viaGql.body.data.createTask.id);
    expect(stored.traceparent).toBe(traceparent);
  });

  test('the bypassSteps limit is the same on every surface', async () => {
    const f = await apiFixture(backend);
    const base = await listening(f);
    const tooMany = Array.from({ length: 1001 }, (_, i) => `step_${i}`);
    const request = { namespace: 'shop', name: 'order', context: { orderId: 1 }, bypassSteps: tooMany };
    const rest = await post(base, '/tasks', request);
    expect(rest.status).toBe(400);
    expect(rest.body.code).toBe('TASKER_INVALID_REQUEST');
    expect(JSON.stringify(rest.body.errors)).toContain('bypassSteps');
    await expect(f.tasker.createTask(request)).rejects.toMatchObject({
      code: 'TASKER_INVALID_REQUEST',
      details: [expect.objectContaining({ path: 'bypassSteps' })],
    });
    const viaGql = await gql(
      base,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }`,
      { input: request },
    );
    expect(viaGql.body.errors[0].extensions.code).toBe('TASKER_INVALID_REQUEST');
    expect((await f.tasker.listTasks()).tasks).toHaveLength(0);
  });
});
