/**
 * A ready Fastify server with the API mounted (`createApiServer`), and one that listens
 * (`startServer`: port 3000 or PORT, host 127.0.0.1), warning loudly when it listens beyond loopback
 * with authentication off. Every answer the server itself gives is a problem too: errors of Node's HTTP
 * parser and of the router (early-errors.ts), unknown routes outside the API, and requests that arrive
 * while it shuts down.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { TaskerError } from '../errors.js';
import { assignCorrelationId } from './correlation.js';
import { clientErrorHandler, frameworkErrorHandler } from './early-errors.js';
import { type ApiOptions, resolveApiOptions } from './options.js';
import { taskerApi } from './plugin.js';
import { HttpProblem, sendProblem } from './problems.js';
import { logFailedRequest } from './request-log.js';
import {
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  listenError,
  type RequestHandler,
  type StartingServer,
} from './starting-server.js';

export interface CreateApiServerOptions extends ApiOptions {
  /** Fastify's own logger: false (default), true, or pino options. Failed requests are logged by the
   * Tasker's logger either way. */
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * Largest request line plus headers, in bytes (Node's maxHeaderSize); beyond it the answer is 431.
   * @defaultValue 16384
   */
  readonly maxHeaderSize?: number;
  /**
   * Time allowed to receive a whole request (headers and body), in ms; beyond it the answer is 408.
   * 0 turns it off (Node's header timeout of 60 s still applies). @defaultValue 60000
   */
  readonly requestTimeoutMs?: number;
}

/** Longest path segment (a task id, a template name...) the router accepts; 414 beyond. */
const MAX_PARAM_LENGTH = 100;

function checkServerOptions(options: CreateApiServerOptions): {
  maxHeaderSize: number;
  requestTimeoutMs: number;
} {
  const { maxHeaderSize = DEFAULT_MAX_HEADER_SIZE, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 1024 || maxHeaderSize > 1_048_576) {
    throw new TaskerError(
      'TASKER_INVALID_CONFIG',
      `invalid maxHeaderSize ${String(maxHeaderSize)}: expected an integer from 1024 to 1048576 (bytes)`,
    );
  }
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 0 || requestTimeoutMs > 3_600_000) {
    throw new TaskerError(
      'TASKER_INVALID_CONFIG',
      `invalid requestTimeoutMs ${String(requestTimeoutMs)}: expected an integer from 0 (off) to 3600000`,
    );
  }
  return { maxHeaderSize, requestTimeoutMs };
}

export function createApiServer(options: CreateApiServerOptions): Promise<FastifyInstance> {
  return buildApp(options);
}

/** The app; with a `serverFactory`, on a server someone else listens with (see startServer). */
async function buildApp(
  options: CreateApiServerOptions,
  serverFactory?: FastifyServerOptions['serverFactory'],
): Promise<FastifyInstance> {
  const { logger, maxHeaderSize: _h, requestTimeoutMs: _t, ...apiOptions } = options;
  const { maxHeaderSize, requestTimeoutMs } = checkServerOptions(options);
  const resolved = resolveApiOptions(apiOptions);
  const taskerLogger = resolved.tasker.logger;
  const early = {
    logger: taskerLogger,
    correlationIdHeader: resolved.correlationIdHeader,
    maxParamLength: MAX_PARAM_LENGTH,
  };
  const app = Fastify({
    ...(serverFactory ? { serverFactory } : {}),
    logger: logger ?? false,
    bodyLimit: resolved.bodyLimit,
    // The correlation id header doubles as the request id in Fastify's own logs.
    requestIdHeader: resolved.correlationIdHeader.toLowerCase(),
    forceCloseConnections: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: requestTimeoutMs,
    // Node checks for timed-out requests at this interval (30 s by default): a fraction of the timeout.
    http: {
      maxHeaderSize,
      ...(requestTimeoutMs > 0
        ? { connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeoutMs / 4))) }
        : {}),
    },
    clientErrorHandler: clientErrorHandler(early),
    frameworkErrors: frameworkErrorHandler(early),
    // Answered below as a problem instead of Fastify's own JSON.
    return503OnClosing: false,
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    assignCorrelationId(request, reply, resolved.correlationIdHeader);
    reply.header('connection', 'close');
    return sendProblem(
      request,
      reply,
      new HttpProblem(503, 'TASKER_SHUTTING_DOWN', 'the server is shutting down: retry on another instance'),
    );
  });
  app.setErrorHandler((error, request, reply) => {
    assignCorrelationId(request, reply, resolved.correlationIdHeader);
    sendProblem(request, reply, error);
    logFailedRequest(taskerLogger, {
      correlationId: request.correlationId,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      code: request.taskerFailure?.code,
      error: request.taskerFailure?.error,
    });
  });
  // Outside the API's prefix (its own routes have their own handler and request log).
  app.setNotFoundHandler((request, reply) => {
    assignCorrelationId(request, reply, resolved.correlationIdHeader);
    sendProblem(
      request,
      reply,
      new HttpProblem(404, 'TASKER_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    );
    logFailedRequest(taskerLogger, {
      correlationId: request.correlationId,
      method: request.method,
      url: request.url,
      status: 404,
      code: 'TASKER_NOT_FOUND',
    });
  });
  await app.register(taskerApi, { ...apiOptions, prefix: resolved.prefix });
  await app.ready();
  return app;
}

export interface StartServerOptions extends CreateApiServerOptions {
  /** @defaultValue PORT or 3000 (0 picks a free port). */
  readonly port?: number;
  /** @defaultValue 127.0.0.1 */
  readonly host?: string;
  /**
   * A server already listening (`listenWhileStarting`): the API takes its requests over, and `port` and
   * `host` are ignored.
   */
  readonly listening?: StartingServer;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { port: givenPort, host = '127.0.0.1', listening, ...rest } = options;
  const envPort = process.env.PORT === undefined ? undefined : Number(process.env.PORT);
  const port = givenPort ?? envPort ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TaskerError('TASKER_INVALID_CONFIG', `invalid port ${String(port)}: expected 0-65535`);
  }
  let handler: RequestHandler | undefined;
  const app = listening
    ? await buildApp(rest, (h) => {
        handler = h;
        return listening.server;
      })
    : await createApiServer(rest);
  const { logger: _l, maxHeaderSize: _h, requestTimeoutMs: _t, ...apiOptions } = rest;
  const resolved = resolveApiOptions(apiOptions);
  const authEnabled = resolved.auth.enabled;
  const boundHost = listening ? (listening.server.address() as AddressInfo).address : host;
  if (!authEnabled && !LOOPBACK.test(boundHost)) {
    const warning =
      `WARNING: the Tasker API listens on ${boundHost} with authentication OFF: anyone who can reach this ` +
      'address can create, change and cancel tasks. Enable auth (auth.enabled + jwt or authenticate).';
    options.tasker.logger.warn({ host: boundHost }, warning);
    process.emitWarning(warning, { code: 'TASKER_AUTH_OFF' });
  }
  const prefix = resolved.prefix;
  if (listening && handler) {
    listening.handOver(handler);
    return {
      url: `${listening.origin}${prefix}`,
      app,
      close: async () => {
        await app.close();
        await listening.close();
      },
    };
  }
  const address = await app.listen({ port, host }).catch(async (error: unknown) => {
    await app.close().catch(() => {});
    throw listenError(error, host, port);
  });
  return { url: `${address}${prefix}`, app, close: () => app.close() };
}
