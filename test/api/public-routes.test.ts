/**
 * With auth on, which routes answer without a token is exactly what docs/api.md says: every route the
 * API registers (its own, Swagger UI's, GraphiQL's, the dashboard's files) is requested without
 * credentials, and only the documented ones do not answer 401.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { type ApiOptions, taskerApi } from '../../src/api/index.js';
import { testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Every route of the API, with a URL that reaches it (parameters filled in). */
async function routesWithoutToken(options: Omit<ApiOptions, 'tasker'>) {
  const { tasker } = await testTasker('pglite');
  registerTemplates(tasker);
  const app = Fastify();
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, url: route.url });
    }
  });
  await app.register(taskerApi, { tasker, ...options });
  await app.ready();
  closers.push(() => app.close());
  const answers = new Map<string, number>();
  for (const { method, url } of routes) {
    const concrete = url.replace(/:[A-Za-z]+/g, '1').replace(/\*$/, 'x');
    const response = await app.inject({
      method: method as 'GET',
      url: concrete,
      ...(method === 'POST' || method === 'PATCH' ? { payload: {} } : {}),
    });
    answers.set(`${method} ${url}`, response.statusCode);
  }
  return answers;
}

const isDashboard = (route: string) => /^GET \/tasker\/ui(\/|$)/.test(route);
const isDocs = (route: string) => /^GET \/tasker\/(openapi\.json|api-docs|graphiql)(\/|$)/.test(route);
const isProbe = (route: string) =>
  route === 'GET /tasker/health/live' || route === 'GET /tasker/health/ready';

describe('routes open without a token when auth is on', () => {
  test('by default: liveness, readiness and the dashboard files only', async () => {
    const answers = await routesWithoutToken({ auth: { enabled: true, jwt: { secret: SECRET } } });
    const open = [...answers].filter(([, status]) => status !== 401).map(([route]) => route);
    expect(open.filter((r) => !isDashboard(r)).sort()).toEqual([
      'GET /tasker/health/live',
      'GET /tasker/health/ready',
    ]);
    // The docs and consoles exist, and are closed.
    const docs = [...answers.keys()].filter(isDocs);
    expect(docs).toEqual(
      expect.arrayContaining(['GET /tasker/openapi.json', 'GET /tasker/api-docs', 'GET /tasker/graphiql/']),
    );
    for (const route of docs) expect(answers.get(route), route).toBe(401);
    expect(answers.get('POST /tasker/graphql')).toBe(401);
    expect(answers.get('GET /tasker/events')).toBe(401);
  });

  test('with publicDocs: the OpenAPI document, Swagger UI and GraphiQL too', async () => {
    const answers = await routesWithoutToken({
      auth: { enabled: true, jwt: { secret: SECRET } },
      publicDocs: true,
    });
    for (const [route, status] of answers) {
      if (isProbe(route) || isDashboard(route) || isDocs(route)) {
        expect(status, route).not.toBe(401);
      } else {
        expect(status, route).toBe(401);
      }
    }
    expect(answers.get('GET /tasker/openapi.json')).toBe(200);
    expect(answers.get('GET /tasker/graphiql/')).toBe(200);
  });
});
