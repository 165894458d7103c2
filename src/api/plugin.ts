/**
 * `taskerApi`: the whole HTTP API as a Fastify plugin, mountable in any Fastify app under a prefix
 * (default /tasker). It brings its own request validator (every error reported, nothing coerced away),
 * problem-details error handling, correlation ids, access control, OpenAPI/Swagger UI, GraphQL, live
 * updates and the dashboard's static files.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createSqlContext } from '../engine/sql/sql-context.js';
import { createAccessControl, type Permission } from './auth.js';
import { bulkRoutes } from './bulk-routes.js';
import type { ApiContext } from './context.js';
import { assignCorrelationId } from './correlation.js';
import { eventRoutes } from './event-routes.js';
import { failureRoutes } from './failure-routes.js';
import { graphiqlRoutes } from './graphiql-routes.js';
import { graphqlRoutes } from './graphql.js';
import { handlerRoutes } from './handler-routes.js';
import { healthRoutes } from './health-routes.js';
import { createLiveUpdates } from './live-updates.js';
import { registerObservabilityRoutes } from './observability-routes.js';
import { type ApiOptions, resolveApiOptions } from './options.js';
import { HttpProblem, sendProblem } from './problems.js';
import { logFailedRequests } from './request-log.js';
import { scheduleRoutes } from './schedule-routes.js';
import { schemas } from './schemas.js';
import { stepRoutes } from './step-routes.js';
import { taskRoutes } from './task-routes.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const DEFAULT_PREFIX = '/tasker';
/** The API's description and its browser consoles (relative to the prefix): public only with publicDocs. */
const DOCS_PATH = /^\/(openapi\.json|api-docs|graphiql)(\/|$)/;

function defaultUiDir(): string {
  // dist/api/plugin.js and src/api/plugin.ts both sit two levels below the package root.
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '../../dist/ui');
}

/**
 * Validators shared by the plugin's routes: all errors at once, no silent removal of unknown fields.
 * Query strings and path parameters are text, so they are coerced (`limit=5`, one `state` or several);
 * JSON bodies are not (a number where a string belongs is an error).
 */
function createValidator(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  addFormats(ajv);
  for (const schema of schemas) ajv.addSchema(schema);
  return ajv;
}

/** The path of the first string (value or key) holding a NUL character, or null. */
function findNul(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}/${key}`;
    if (key.includes('\u0000')) return childPath;
    const found = findNul(child, childPath, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

async function register(app: FastifyInstance, apiOptions: ApiOptions): Promise<void> {
  const options = resolveApiOptions(apiOptions);
  const { tasker } = options;
  const ctx: ApiContext = {
    tasker,
    options,
    access: createAccessControl(options.auth),
    sql: createSqlContext(tasker.database, tasker.config.database.schema),
  };
  const bodyAjv = createValidator(false);
  const textAjv = createValidator(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );
  for (const schema of schemas) app.addSchema(schema);

  app.decorateRequest('correlationId', '');
  app.decorateRequest('taskerFailure', undefined);
  app.decorateRequest('traceparent', null);
  // A server span per request when tracing is on; tasks created by the request are its children.
  const tracing = tasker.telemetry.tracing;
  if (tracing) {
    const spans = new WeakMap<object, Span>();
    app.addHook('onRequest', async (request) => {
      const header = request.headers.traceparent;
      const started = tracing.startRequestSpan({
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0]!,
        traceparent: typeof header === 'string' ? header : undefined,
      });
      spans.set(request, started.span);
      request.traceparent = started.traceparent;
    });
    app.addHook('onResponse', async (request, reply) => {
      const span = spans.get(request);
      if (!span) return;
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  }
  logFailedRequests(app, tasker.logger);
  app.addHook('onRequest', async (request, reply) => {
    assignCorrelationId(request, reply, options.correlationIdHeader);
    // Both loggers: Fastify's own "request completed" line is written through reply.log.
    request.log = request.log.child({ correlationId: request.correlationId });
    reply.log = request.log;
    if (request.url.length > options.maxUrlLength) {
      throw new HttpProblem(
        414,
        'TASKER_URI_TOO_LONG',
        `the URL is ${request.url.length} characters long; at most ${options.maxUrlLength} are accepted`,
      );
    }
    const config = request.routeOptions.config;
    if (config.permission) {
      await ctx.access.check(request, config.permission, { allowQueryToken: config.queryToken === true });
    } else if (config.authenticated) {
      await ctx.access.authenticate(request, false);
    }
  });
  // Bodiless POSTs (cancel, retry) validate as an empty object. PostgreSQL cannot store a NUL character
  // in text or jsonb, so a body holding one is refused here, naming where it is.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH')) {
      request.body = {};
    }
    const at = findNul(request.body, 'body');
    if (at !== null) {
      throw new HttpProblem(
        400,
        'TASKER_INVALID_REQUEST',
        `${at} contains a NUL character, which cannot be stored`,
        [{ path: at, message: 'must not contain a NUL character (U+0000)' }],
      );
    }
  });
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new HttpProblem(404, 'TASKER_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  if (options.auth.enabled && !options.publicDocs) {
    // Routes of the swagger plugins and GraphiQL included: they are registered after this hook.
    const prefixLength = app.prefix.length;
    app.addHook('onRoute', (route) => {
      if (route.config?.permission || !DOCS_PATH.test(route.url.slice(prefixLength))) return;
      route.config = { ...route.config, authenticated: true };
    });
  }

  if (options.docs) {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Tasker API',
          version: '1',
          description: 'Durable DAG workflows: tasks, steps, templates, health, live updates.',
        },
        components: options.auth.enabled
          ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } }
          : {},
        security: options.auth.enabled ? [{ bearer: [] }] : [],
      },
      refResolver: {
        buildLocalReference: (json, _base, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${i}`,
      },
    });
    // Without a trailing slash the page links its assets by absolute path, which @fastify/swagger-ui
    // builds from routePrefix alone: indexPrefix adds the prefix this plugin is mounted under.
    // Swagger UI adds a <style> element at run time, which the package's strict style-src refuses.
    await app.register(fastifySwaggerUi, {
      routePrefix: '/api-docs',
      indexPrefix: app.prefix,
      staticCSP: true,
      transformStaticCSP: (header) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }

  const live = createLiveUpdates(tasker, (error) => app.log.error({ err: error }, 'live updates failed'));
  app.addHook('onClose', async () => live.close());

  for (const routes of [
    taskRoutes,
    stepRoutes,
    handlerRoutes,
    healthRoutes,
    failureRoutes,
    scheduleRoutes,
    bulkRoutes,
    eventRoutes(live),
  ]) {
    await routes(app, ctx);
  }
  if (options.graphql.enabled) {
    await graphqlRoutes(app, ctx);
    graphiqlRoutes(app, ctx);
  }
  // Prometheus metrics and analytics (tasker.metrics:index, tasker.analytics:index when auth is on).
  registerObservabilityRoutes(app, tasker, { rethrowErrors: true });
  if (options.routes.length > 0) {
    await app.register(async (extra) => {
      // Deny by default: an extra route is never public when auth is on.
      extra.addHook('onRoute', (route) => {
        const config = (route.config ?? {}) as { permission?: Permission; authenticated?: boolean };
        if (config.permission) return;
        const path = route.url.slice(route.prefix.length);
        const permission: Permission | undefined = path.startsWith('/metrics')
          ? 'tasker.metrics:index'
          : path.startsWith('/analytics')
            ? 'tasker.analytics:index'
            : undefined;
        route.config = { ...config, ...(permission ? { permission } : { authenticated: true }) };
      });
      for (const routes of options.routes) await routes(extra);
    });
  }

  const uiDir = options.uiDir ? resolve(options.uiDir) : defaultUiDir();
  if (existsSync(resolve(uiDir, 'index.html'))) {
    await app.register(async (ui) => {
      await ui.register(fastifyStatic, {
        root: uiDir,
        prefix: '/ui/',
        index: ['index.html'],
        wildcard: false,
      });
      // SPA: any other path under /ui/ gets index.html, the client router takes it from there.
      ui.get('/ui/*', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
      ui.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect(`${options.prefix}/ui/`));
    });
  } else {
    const notBuilt = new HttpProblem(404, 'TASKER_UI_NOT_BUILT', 'dashboard not built: run npm run build');
    app.get('/ui', { schema: { hide: true } }, async () => {
      throw notBuilt;
    });
    app.get('/ui/*', { schema: { hide: true } }, async () => {
      throw notBuilt;
    });
  }
}

/** The API as a Fastify plugin; register it with `{ tasker, prefix: '/tasker', auth, ... }`. */
export const taskerApi: FastifyPluginAsync<ApiOptions> = async (app, options) => {
  // Fastify applies a `prefix` given at registration itself; without one, the default prefix applies.
  if (options.prefix !== undefined) await register(app, options);
  else await app.register(async (inner) => register(inner, options), { prefix: DEFAULT_PREFIX });
};
