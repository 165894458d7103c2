/**
 * The database goes away under a running server: every surface says so the same way (REST and
 * /health/status: 503 TASKER_DATABASE_UNAVAILABLE with Retry-After; GraphQL: an error with that code; the
 * CLI: exit 6 and one line), and the server and its worker recover when the database comes back. The
 * outage is a TCP stand-in between the engine and the shared PostgreSQL, switched off and on by the test.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/index.js';
import { cli, tempProject } from '../cli/cli-helpers.js';
import { type DatabaseProxy, startDatabaseProxy } from '../durability/database-proxy.js';
import { PG_URL, testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const describePg = PG_URL ? describe : describe.skip;

let proxy: DatabaseProxy | null = null;
let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  await proxy?.close();
  proxy = null;
});

async function eventually<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 300; i++) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describePg('the database goes away under a running server (PostgreSQL)', () => {
  test('REST, GraphQL, health and the CLI answer "database unavailable"; all recover', async () => {
    proxy = await startDatabaseProxy(PG_URL!);
    await proxy.up();
    const url = proxy.urlFor(PG_URL!);
    const { tasker, schema } = await testTasker('postgres', {
      database: { url, connectTimeoutMs: 0 },
      // The outage is meant: its warnings would only bury the test's output.
      telemetry: { log: { level: 'fatal' } },
    });
    registerTemplates(tasker);
    await tasker.startWorker();
    server = await startServer({ tasker, port: 0 });
    const base = server.url;
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const order = { namespace: 'shop', name: 'order', context: { orderId: 1 } };

    const before = await post('/tasks', order);
    expect(before.status).toBe(201);
    const { id } = (await before.json()) as { id: number };
    expect((await tasker.waitForTask(id, { timeoutMs: 20_000 })).state).toBe('complete');

    await proxy.down();

    for (const [method, path] of [
      ['GET', '/tasks'],
      ['GET', `/tasks/${id}`],
      ['POST', '/tasks'],
      ['GET', '/health/status'],
    ] as const) {
      const res =
        method === 'POST' ? await post(path, order) : await fetch(`${base}${path}`, { method: 'GET' });
      const body = (await res.json()) as { code: string; status: number; detail: string };
      expect(res.status, `${method} ${path}: ${JSON.stringify(body)}`).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('5');
      expect(body.code).toBe('TASKER_DATABASE_UNAVAILABLE');
      expect(body.status).toBe(503);
      expect(body.detail).toMatch(/^the database is unavailable \(.+\); try again shortly$/);
      // The detail names no host, port or user.
      expect(body.detail).not.toContain(String(proxy.port));
    }
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(
      ((await ready.json()) as { checks: { database: { status: string } } }).checks.database.status,
    ).toBe('fail');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);

    const gql = await post('/graphql', { query: `{ task(id: ${id}) { id state } }` });
    const gqlBody = (await gql.json()) as {
      errors?: Array<{ message: string; extensions?: { code?: string; status?: number } }>;
    };
    expect(gqlBody.errors?.[0]?.extensions, JSON.stringify(gqlBody)).toMatchObject({
      code: 'TASKER_DATABASE_UNAVAILABLE',
      status: 503,
    });

    const project = tempProject();
    const listed = await cli(['list', '--connect-timeout', '0'], project, {
      DATABASE_URL: url,
      TASKER_DATABASE_SCHEMA: schema,
    });
    expect(listed.code, listed.stderr).toBe(6);
    const lines = listed.stderr.trim().split('\n');
    expect(lines, listed.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: the database at 127\.0\.0\.1:\d+\/\S+ is not reachable \(connection refused\)/,
    );

    await proxy.up();
    // The pool opens new connections and the worker goes on: a task created now runs to its end.
    const after = await eventually('the API to answer again', async () => {
      const res = await post('/tasks', order);
      return res.status === 201 ? ((await res.json()) as { id: number }) : undefined;
    });
    expect((await tasker.waitForTask(after.id, { timeoutMs: 20_000 })).state).toBe('complete');
    expect((await fetch(`${base}/tasks/${id}`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  });
});
