import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, test } from 'vitest';
import { AuthenticationError, createApiServer, startServer } from '../../src/api/index.js';
import { isTaskerError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';
import { apiFixture, registerTemplates } from './api-helpers.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function hs256(claims: Record<string, unknown>, options: { exp?: string | number; secret?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuer('tasker-tests')
    .setAudience('tasker')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.each(BACKENDS)('authentication and authorization on %s', (backend) => {
  test('JWT HS256: 401 without or with a bad token, 403 without the permission, 200 with it', async () => {
    const f = await apiFixture(backend, {
      auth: { enabled: true, jwt: { secret: SECRET, issuer: 'tasker-tests', audience: 'tasker' } },
    });
    const app = f.app;
    // Liveness and readiness never need auth.
    expect((await app.inject({ url: '/tasker/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/tasker/health/ready' })).statusCode).toBe(200);

    const none = await app.inject({ url: '/tasker/tasks' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.json()).toMatchObject({ code: 'TASKER_UNAUTHENTICATED', status: 401 });
    expect((await app.inject({ url: '/tasker/health/status' })).statusCode).toBe(401);
    // Metrics and analytics need their own permissions.
    expect((await app.inject({ url: '/tasker/metrics' })).statusCode).toBe(401);
    const taskReader = await hs256({ permissions: ['tasker.task:index'] });
    expect((await app.inject({ url: '/tasker/metrics', headers: bearer(taskReader) })).statusCode).toBe(403);
    const scraper = await hs256({ permissions: ['tasker.metrics:index'] });
    expect((await app.inject({ url: '/tasker/metrics', headers: bearer(scraper) })).statusCode).toBe(200);
    expect(
      (await app.inject({ url: '/tasker/analytics/bottlenecks', headers: bearer(scraper) })).statusCode,
    ).toBe(403);

    const cases: Array<[string, string]> = [
      [
        await hs256(
          { permissions: ['tasker.task:index'] },
          { secret: 'another-secret-that-is-at-least-32-bytes' },
        ),
        'signature',
      ],
      [
        await hs256({ permissions: ['tasker.task:index'] }, { exp: Math.floor(Date.now() / 1000) - 3600 }),
        'expired',
      ],
      [
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('someone-else')
          .setAudience('tasker')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(SECRET)),
        'issuer',
      ],
      [
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('tasker-tests')
          .setAudience('other')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(SECRET)),
        'audience',
      ],
      ['not.a.jwt', 'malformed'],
    ];
    for (const [token, why] of cases) {
      const res = await app.inject({ url: '/tasker/tasks', headers: bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toContain(why);
      expect(res.body).not.toContain(SECRET);
    }
    expect(
      (await app.inject({ url: '/tasker/tasks', headers: { authorization: 'Basic abc' } })).statusCode,
    ).toBe(401);

    const reader = await hs256({ permissions: ['tasker.task:index', 'tasker.task:show'] });
    expect((await app.inject({ url: '/tasker/tasks', headers: bearer(reader) })).statusCode).toBe(200);
    const forbidden = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: bearer(reader),
      payload: { namespace: 'shop', name: 'broken' },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({
      code: 'TASKER_FORBIDDEN',
      detail: 'missing permission tasker.task:create',
    });
    expect((await app.inject({ url: '/tasker/health/status', headers: bearer(reader) })).statusCode).toBe(
      403,
    );

    const writer = await hs256({ permissions: 'tasker.task:create tasker.health_status:index' });
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: bearer(writer),
      payload: { namespace: 'shop', name: 'broken' },
    });
    expect(created.statusCode).toBe(201);
    expect((await app.inject({ url: '/tasker/health/status', headers: bearer(writer) })).statusCode).toBe(
      200,
    );

    // GraphQL: 401 before anything runs, then the same permissions per operation.
    const gqlNone = await app.inject({
      method: 'POST',
      url: '/tasker/graphql',
      payload: { query: '{ tasks { items { id } } }' },
    });
    expect(gqlNone.statusCode).toBe(401);
    const gqlRead = await app.inject({
      method: 'POST',
      url: '/tasker/graphql',
      headers: bearer(reader),
      payload: { query: '{ tasks { items { id } } }' },
    });
    expect(gqlRead.json().data.tasks.items).toHaveLength(1);
    const gqlWrite = await app.inject({
      method: 'POST',
      url: '/tasker/graphql',
      headers: bearer(reader),
      payload: { query: 'mutation { cancelTask(id: 1) { state } }' },
    });
    expect(gqlWrite.json().errors[0].extensions).toMatchObject({ code: 'TASKER_FORBIDDEN', status: 403 });
  });

  test('JWT RS256 and ES256 from a JWKS URL served over HTTP; token in ?access_token= for event streams', async () => {
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    const jwks: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => jwks.close(() => resolve())));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

    const t = await testTasker(backend);
    registerTemplates(t.tasker);
    const server = await startServer({
      tasker: t.tasker,
      port: 0,
      auth: { enabled: true, jwt: { jwksUrl, audience: 'tasker' } },
    });
    closers.push(() => server.close());

    const sign = (
      alg: 'RS256' | 'ES256',
      kid: string,
      key: Parameters<SignJWT['sign']>[0],
      permissions: string[],
    ) =>
      new SignJWT({ permissions })
        .setProtectedHeader({ alg, kid })
        .setSubject('svc')
        .setAudience('tasker')
        .setExpirationTime('5m')
        .sign(key);
    const rs = await sign('RS256', 'rsa-1', rsa.privateKey, ['tasker.handler:index']);
    const es = await sign('ES256', 'ec-1', ec.privateKey, ['tasker.task:index']);
    expect((await fetch(`${server.url}/handlers`, { headers: bearer(rs) })).status).toBe(200);
    expect((await fetch(`${server.url}/handlers`, { headers: bearer(es) })).status).toBe(403);
    const hs = await hs256({ permissions: ['tasker.handler:index'] });
    const refused = await fetch(`${server.url}/handlers`, { headers: bearer(hs) });
    expect(refused.status).toBe(401);

    const stream = await fetch(`${server.url}/events?access_token=${es}`);
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    const noToken = await fetch(`${server.url}/events`);
    expect(noToken.status).toBe(401);
    // The query token is for event streams only.
    expect((await fetch(`${server.url}/tasks?access_token=${es}`)).status).toBe(401);
  });

  test('a custom authenticator and authorizer; invalid auth options are refused with the field', async () => {
    const t = await testTasker(backend);
    registerTemplates(t.tasker);
    const app = await createApiServer({
      tasker: t.tasker,
      auth: {
        enabled: true,
        authenticate: async (request, token) => {
          const key = request.headers['x-api-key'] ?? token;
          if (key === undefined || key === null) return null;
          if (key !== 'let-me-in') throw new AuthenticationError('unknown API key');
          return { id: 'robot', claims: { role: 'viewer' } };
        },
        authorize: (principal, permission) =>
          principal.claims?.role === 'viewer' && permission.endsWith(':index'),
      },
    });
    closers.push(() => app.close());
    expect(
      (await app.inject({ url: '/tasker/handlers', headers: { 'x-api-key': 'let-me-in' } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ url: '/tasker/handlers/shop/order', headers: { 'x-api-key': 'let-me-in' } }))
        .statusCode,
    ).toBe(403);
    const wrong = await app.inject({ url: '/tasker/handlers', headers: { 'x-api-key': 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().detail).toBe('unknown API key');
    expect((await app.inject({ url: '/tasker/handlers' })).statusCode).toBe(401);

    for (const auth of [
      { enabled: true },
      { enabled: true, jwt: { secret: 'short' } },
      { enabled: true, jwt: { secret: SECRET, jwksUrl: 'http://x' } },
    ]) {
      let error: unknown;
      try {
        await createApiServer({ tasker: t.tasker, auth });
      } catch (e) {
        error = e;
      }
      expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
      expect((error as Error).message).toContain('auth');
    }
  });
});
