/**
 * Failed requests are logged by the Tasker's logger (the project's pino logger), whatever Fastify's own
 * logger does: one line per failure with the correlation id, 5xx at error with the error, 4xx at debug;
 * never the body, a header or the query string (where tokens travel).
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import pino from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer } from '../../src/api/index.js';
import { testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Line = Record<string, unknown>;

function capture(): { logger: pino.Logger; lines: Line[]; text: string[] } {
  const lines: Line[] = [];
  const text: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue;
        text.push(line);
        lines.push(JSON.parse(line) as Line);
      }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, text };
}

const DEBUG = 20;
const ERROR = 50;

describe('the request log', () => {
  test('failed requests: one line each with the correlation id, 4xx at debug, 5xx at error; no secret', async () => {
    const { logger, lines, text } = capture();
    const { tasker } = await testTasker('pglite', { logger });
    registerTemplates(tasker);
    const server = await startServer({
      tasker,
      port: 0,
      auth: { enabled: true, jwt: { secret: SECRET } },
      routes: [
        (app) => {
          app.post('/explode', { config: { permission: 'tasker.task:create' } }, async () => {
            throw new Error('a bug in an extra route');
          });
        },
      ],
    });
    closers.push(() => server.close());
    const token = await new SignJWT({ permissions: ['tasker.task:create'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const secretInBody = 'card-4111-1111-1111-1111';
    const body = JSON.stringify({
      namespace: 'shop',
      name: 'order',
      context: { orderId: 'x', card: secretInBody },
    });
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-correlation-id': 'req-422',
    };

    const refused = await fetch(`${server.url}/tasks`, { method: 'POST', headers, body });
    expect(refused.status).toBe(422);
    const failed = await fetch(`${server.url}/explode`, {
      method: 'POST',
      headers: { ...headers, 'x-correlation-id': 'req-500' },
      body,
    });
    expect(failed.status).toBe(500);
    const badToken = await fetch(`${server.url}/events?access_token=query-token-secret`, {
      headers: { authorization: 'Bearer not-a-real-token-secret', 'x-correlation-id': 'req-401' },
    });
    expect(badToken.status).toBe(401);
    // A success is not a failure: no line.
    expect(
      (await fetch(`${server.url}/health/live`, { headers: { 'x-correlation-id': 'req-200' } })).status,
    ).toBe(200);

    const byId = (id: string) => lines.filter((l) => l.correlationId === id);
    expect(byId('req-422')).toEqual([
      expect.objectContaining({
        level: DEBUG,
        method: 'POST',
        path: '/tasker/tasks',
        status: 422,
        code: 'TASKER_INVALID_CONTEXT',
        durationMs: expect.any(Number),
        msg: 'request refused: POST /tasker/tasks -> 422 TASKER_INVALID_CONTEXT',
      }),
    ]);
    expect(byId('req-500')).toEqual([
      expect.objectContaining({
        level: ERROR,
        path: '/tasker/explode',
        status: 500,
        code: 'TASKER_INTERNAL_ERROR',
        err: expect.objectContaining({ message: 'a bug in an extra route', stack: expect.any(String) }),
      }),
    ]);
    expect(byId('req-401')).toEqual([
      expect.objectContaining({
        level: DEBUG,
        path: '/tasker/events',
        status: 401,
        code: 'TASKER_UNAUTHENTICATED',
      }),
    ]);
    expect(byId('req-200')).toEqual([]);

    // Nothing a client sent as a secret reaches the log: not the token, not the body, not the query.
    const all = text.join('\n');
    for (const secret of [token, secretInBody, 'query-token-secret', 'not-a-real-token-secret']) {
      expect(all).not.toContain(secret);
    }
  });

  test('errors before Fastify (a parser error) are logged with the correlation id they were answered with', async () => {
    const { logger, lines } = capture();
    const { tasker } = await testTasker('pglite', { logger });
    registerTemplates(tasker);
    const server = await startServer({ tasker, port: 0, maxHeaderSize: 2048 });
    closers.push(() => server.close());
    const { port } = server.app.server.address() as { port: number };
    const response = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(`GET /tasker/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4000)}\r\n\r\n`),
      );
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(data));
    });
    const id = /x-correlation-id: (\S+)/i.exec(response)?.[1];
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(lines.filter((l) => l.correlationId === id)).toEqual([
      expect.objectContaining({ level: DEBUG, status: 431, code: 'TASKER_HEADERS_TOO_LARGE' }),
    ]);
  });
});
