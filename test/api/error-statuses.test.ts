/**
 * Every status the server can answer with is an RFC 9457 problem with a code from the registry, over
 * real HTTP: from the routes, from Fastify before routing (bad URL encoding, too long a path segment,
 * bad JSON, unsupported content type, body too large, unknown route), from Node's HTTP parser before
 * Fastify (malformed request, headers too large, request timeout) and while the server shuts down.
 */
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, test } from 'vitest';
import { type StartServerOptions, startServer } from '../../src/api/index.js';
import { ERROR_CODES, type ErrorCode } from '../../src/index.js';
import { testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: Omit<StartServerOptions, 'tasker'> = {}) {
  // Failed requests are logged; request-log.test.ts looks at those lines, not this file.
  const { tasker } = await testTasker('pglite', { telemetry: { log: { level: 'silent' } } });
  registerTemplates(tasker);
  const running = await startServer({ tasker, port: 0, ...options });
  closers.push(() => running.close());
  const { port } = running.app.server.address() as { port: number };
  return { ...running, tasker, port };
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends bytes as they are (no client library fixing them up) and reads until the server closes. */
function raw(port: number, chunks: readonly string[], pauseMs = 0): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
    socket.on('data', (d) => {
      data += d.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!Number.isInteger(status)) {
        reject(new Error(`no HTTP response: ${JSON.stringify(data.slice(0, 200))}`));
        return;
      }
      const headers = Object.fromEntries(
        headerLines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/** The response is the problem for `status` with `code`, which the registry knows with that status. */
function expectProblem(response: RawResponse, status: number, code: ErrorCode) {
  expect(response.status, response.body).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.headers['x-correlation-id']).toMatch(/\S/);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: expect.stringContaining('tasker-') });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(ERROR_CODES[code].status).toBe(status);
  return body;
}

async function viaFetch(url: string, init?: RequestInit): Promise<RawResponse> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: await response.text(),
  };
}

const request = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`;

describe('every error is a problem (real HTTP)', () => {
  test('from the routes: 400, 401, 403, 404, 409, 422 and 500', async () => {
    const token = (permissions: string[]) =>
      new SignJWT({ permissions })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SECRET));
    const s = await server({
      auth: { enabled: true, jwt: { secret: SECRET } },
      routes: [
        (app) => {
          app.get('/explode', { config: { permission: 'tasker.task:index' } }, async () => {
            throw new Error('a bug in an extra route');
          });
        },
      ],
    });
    const all = {
      authorization: `Bearer ${await token(['tasker.task:index', 'tasker.task:show', 'tasker.task:create', 'tasker.workflow_step:retry'])}`,
      'content-type': 'application/json',
    };
    expectProblem(await viaFetch(`${s.url}/tasks`), 401, 'TASKER_UNAUTHENTICATED');
    expectProblem(
      await viaFetch(`${s.url}/tasks`, { headers: { authorization: `Bearer ${await token([])}` } }),
      403,
      'TASKER_FORBIDDEN',
    );
    expectProblem(
      await viaFetch(`${s.url}/tasks`, { method: 'POST', headers: all, body: '{}' }),
      400,
      'TASKER_INVALID_REQUEST',
    );
    expectProblem(
      await viaFetch(`${s.url}/tasks`, {
        method: 'POST',
        headers: all,
        body: JSON.stringify({ namespace: 'shop', name: 'order', context: { orderId: 'x' } }),
      }),
      422,
      'TASKER_INVALID_CONTEXT',
    );
    const created = await fetch(`${s.url}/tasks`, {
      method: 'POST',
      headers: all,
      body: JSON.stringify({ namespace: 'shop', name: 'order', context: { orderId: 1 } }),
    });
    const { id } = (await created.json()) as { id: number };
    const { steps } = (await (await fetch(`${s.url}/tasks/${id}`, { headers: all })).json()) as {
      steps: Array<{ id: number }>;
    };
    expectProblem(
      await viaFetch(`${s.url}/tasks/${id}/steps/${steps[0]!.id}/retry`, {
        method: 'POST',
        headers: all,
        body: '{}',
      }),
      409,
      'TASKER_OPERATION_NOT_ALLOWED',
    );
    expectProblem(await viaFetch(`${s.url}/tasks/999999`, { headers: all }), 404, 'TASKER_TASK_NOT_FOUND');
    const bug = expectProblem(
      await viaFetch(`${s.url}/explode`, { headers: all }),
      500,
      'TASKER_INTERNAL_ERROR',
    );
    expect(bug.detail).toBe('internal error');
  });

  test('from Fastify before the routes: 400 bad JSON or URL, 404, 413, 414, 415', async () => {
    const s = await server({ bodyLimit: 1024, maxUrlLength: 2048 });
    const json = { 'content-type': 'application/json' };
    expectProblem(
      await viaFetch(`${s.url}/tasks`, { method: 'POST', headers: json, body: '{"name":' }),
      400,
      'TASKER_INVALID_REQUEST',
    );
    expectProblem(await raw(s.port, [request('/tasker/tasks/%E0%A4%A')]), 400, 'TASKER_INVALID_REQUEST');
    expectProblem(await viaFetch(`${s.url}/nowhere`), 404, 'TASKER_NOT_FOUND');
    // Outside the API's prefix too.
    expectProblem(await viaFetch(`${s.url.replace(/\/tasker$/, '')}/elsewhere`), 404, 'TASKER_NOT_FOUND');
    expectProblem(
      await viaFetch(`${s.url}/tasks`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: 'order', context: { pad: 'x'.repeat(4000) } }),
      }),
      413,
      'TASKER_BODY_TOO_LARGE',
    );
    const segment = expectProblem(
      await viaFetch(`${s.url}/tasks/${'9'.repeat(150)}`),
      414,
      'TASKER_URI_TOO_LONG',
    );
    expect(segment.detail, String(segment.detail)).toContain('100 characters');
    const url = expectProblem(
      await viaFetch(`${s.url}/tasks?tag=${'t'.repeat(3000)}`),
      414,
      'TASKER_URI_TOO_LONG',
    );
    expect(url.detail).toContain('at most 2048');
    expectProblem(
      await viaFetch(`${s.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: '<task/>',
      }),
      415,
      'TASKER_UNSUPPORTED_MEDIA_TYPE',
    );
  });

  test("from Node's HTTP parser, before Fastify: 400 malformed, 431 headers too large, 408 too slow", async () => {
    const s = await server({ maxHeaderSize: 4096, requestTimeoutMs: 300 });
    expectProblem(
      await raw(s.port, ['GET /tasker/health/live HTTP/9.9\r\n\r\n']),
      400,
      'TASKER_INVALID_REQUEST',
    );
    expectProblem(
      await raw(s.port, [request('/tasker/health/live', `X-Padding: ${'p'.repeat(5000)}\r\n`)]),
      431,
      'TASKER_HEADERS_TOO_LARGE',
    );
    // A URL beyond the header limit is refused by the parser as well.
    expectProblem(
      await raw(s.port, [request(`/tasker/tasks?tag=${'t'.repeat(5000)}`)]),
      431,
      'TASKER_HEADERS_TOO_LARGE',
    );
    // Headers that never end: the request times out.
    expectProblem(
      await raw(s.port, ['GET /tasker/health/live HTTP/1.1\r\n', 'Host: localhost\r\n'], 50),
      408,
      'TASKER_REQUEST_TIMEOUT',
    );
    // The server still serves.
    expect((await fetch(`${s.url}/health/live`)).status).toBe(200);
  });

  test('while shutting down: 503', async () => {
    let during: RawResponse | undefined;
    let serverUrl = '';
    const s = await server({
      routes: [
        (app) => {
          // A request that arrives while the server is closing (before it stops listening).
          app.addHook('preClose', async () => {
            during = await viaFetch(`${serverUrl}/health/live`);
          });
        },
      ],
    });
    serverUrl = s.url;
    await s.close();
    closers.pop();
    expect(during).toBeDefined();
    expectProblem(during!, 503, 'TASKER_SHUTTING_DOWN');
  });
});
