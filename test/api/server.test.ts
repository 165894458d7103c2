import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer, startServer, taskerApi } from '../../src/api/index.js';
import { isTaskerError } from '../../src/index.js';
import { testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

// These tests are about the HTTP layer, not the database: PGlite only.
describe('API server', () => {
  test('OpenAPI 3.1 document from the route schemas, Swagger UI served locally', async () => {
    const { tasker } = await testTasker('pglite');
    registerTemplates(tasker);
    const app = await createApiServer({ tasker });
    closers.push(() => app.close());
    const doc = (await app.inject({ url: '/tasker/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/tasker/tasks',
        '/tasker/tasks/bulk',
        '/tasker/tasks/{id}',
        '/tasker/tasks/{id}/steps/{stepId}/resolve',
        '/tasker/handlers/{namespace}/{name}',
        '/tasker/health/ready',
        '/tasker/events',
      ]),
    );
    expect(doc.paths['/tasker/tasks'].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(JSON.stringify(doc.components.schemas)).toContain('idempotencyKey');
    const ui = await app.inject({ url: '/tasker/api-docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
    expect(ui.body).not.toMatch(/https?:\/\/(unpkg|cdn)/);
  });

  test('the dashboard: static files with SPA fallback, or a 404 problem when not built', async () => {
    const { tasker } = await testTasker('pglite');
    registerTemplates(tasker);
    const dir = mkdtempSync(join(tmpdir(), 'tasker-ui-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Tasker UI</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const app = await createApiServer({ tasker, uiDir: dir });
    closers.push(() => app.close());
    expect((await app.inject({ url: '/tasker/ui/' })).body).toContain('Tasker UI');
    expect((await app.inject({ url: '/tasker/ui/app.js' })).body).toContain('console.log');
    const deep = await app.inject({ url: '/tasker/ui/tasks/42' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('Tasker UI');

    const bare = await createApiServer({ tasker, uiDir: join(dir, 'missing') });
    closers.push(() => bare.close());
    const missing = await bare.inject({ url: '/tasker/ui/' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      code: 'TASKER_UI_NOT_BUILT',
      detail: 'dashboard not built: run npm run build',
    });
  });

  test('mounted as a plugin in a user app under its own prefix; correlation ids in and out and in logs', async () => {
    const { tasker } = await testTasker('pglite');
    registerTemplates(tasker);
    const lines: string[] = [];
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
    app.get('/hello', async () => ({ hello: 'world' }));
    await app.register(taskerApi, { tasker, prefix: '/workflows', docs: false, graphql: { enabled: false } });
    closers.push(() => app.close());
    expect((await app.inject({ url: '/hello' })).json()).toEqual({ hello: 'world' });
    const created = await app.inject({
      method: 'POST',
      url: '/workflows/tasks',
      headers: { 'x-correlation-id': 'order-77' },
      payload: { namespace: 'shop', name: 'broken' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['x-correlation-id']).toBe('order-77');
    expect(created.json().correlationId).toBe('order-77');
    expect(lines.some((l) => l.includes('"correlationId":"order-77"'))).toBe(true);
    // A bad or missing correlation id is replaced by a fresh one.
    const generated = await app.inject({
      url: '/workflows/health/live',
      headers: { 'x-correlation-id': 'bad id with spaces' },
    });
    expect(generated.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await app.inject({ url: '/tasker/tasks' })).statusCode).toBe(404);
  });

  test('startServer listens on loopback by default; invalid options name the field', async () => {
    const { tasker } = await testTasker('pglite');
    registerTemplates(tasker);
    const server = await startServer({ tasker, port: 0 });
    closers.push(() => server.close());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tasker$/);
    const res = await fetch(`${server.url}/health/live`);
    expect(await res.json()).toEqual({ status: 'ok' });

    for (const bad of [{ prefix: 'no-slash' }, { bodyLimit: 1 }, { nonsense: true }]) {
      let error: unknown;
      try {
        await createApiServer({ tasker, ...(bad as object) });
      } catch (e) {
        error = e;
      }
      expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
      expect((error as Error).message).toContain(Object.keys(bad)[0]!);
    }
  });

  test('metrics, analytics and extra routes sit inside the API with its access control, denied by default', async () => {
    const { tasker } = await testTasker('pglite');
    registerTemplates(tasker);
    const secret = 'a-test-secret-that-is-at-least-32-bytes-long!';
    const app = await createApiServer({
      tasker,
      auth: { enabled: true, jwt: { secret } },
      routes: [
        (api) => {
          api.get('/custom', async () => ({ custom: true }));
        },
      ],
    });
    closers.push(() => app.close());
    const token = (permissions: string[]) =>
      new SignJWT({ permissions })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
    const get = async (url: string, permissions?: string[]) =>
      app.inject({
        url,
        headers: permissions ? { authorization: `Bearer ${await token(permissions)}` } : {},
      });

    expect((await get('/tasker/metrics')).statusCode).toBe(401);
    expect((await get('/tasker/metrics', ['tasker.task:index'])).statusCode).toBe(403);
    const metrics = await get('/tasker/metrics', ['tasker.metrics:index']);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['x-correlation-id']).toBeDefined();
    expect((await get('/tasker/analytics/performance', ['tasker.metrics:index'])).statusCode).toBe(403);
    expect((await get('/tasker/analytics/performance', ['tasker.analytics:index'])).statusCode).toBe(200);
    expect((await get('/tasker/custom')).statusCode).toBe(401);
    expect((await get('/tasker/custom', [])).json()).toEqual({ custom: true });
  });
});
