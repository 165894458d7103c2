/**
 * A ready Fastify server with the API mounted (`createApiServer`), and one that listens
 * (`startServer`: port 3000 or PORT, host 127.0.0.1), warning loudly when it listens beyond loopback
 * with authentication off.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { TaskerError } from '../errors.js';
import { type ApiOptions, resolveApiOptions } from './options.js';
import { taskerApi } from './plugin.js';
import { HttpProblem, sendProblem } from './problems.js';
import { listenError, type RequestHandler, type StartingServer } from './starting-server.js';

export interface CreateApiServerOptions extends ApiOptions {
  /** Fastify logger: false (default), true, or pino options. */
  readonly logger?: FastifyServerOptions['logger'];
}

export function createApiServer(options: CreateApiServerOptions): Promise<FastifyInstance> {
  return buildApp(options);
}

/** The app; with a `serverFactory`, on a server someone else listens with (see startServer). */
async function buildApp(
  options: CreateApiServerOptions,
  serverFactory?: FastifyServerOptions['serverFactory'],
): Promise<FastifyInstance> {
  const { logger, ...apiOptions } = options;
  const resolved = resolveApiOptions(apiOptions);
  const app = Fastify({
    ...(serverFactory ? { serverFactory } : {}),
    logger: logger ?? false,
    bodyLimit: resolved.bodyLimit,
    // The correlation id header doubles as the request id in Fastify's own logs.
    requestIdHeader: resolved.correlationIdHeader.toLowerCase(),
    forceCloseConnections: true,
  });
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new HttpProblem(404, 'TASKER_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
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
  const authEnabled = resolveApiOptions(rest).auth.enabled;
  const boundHost = listening ? (listening.server.address() as AddressInfo).address : host;
  if (!authEnabled && !LOOPBACK.test(boundHost)) {
    const warning =
      `WARNING: the Tasker API listens on ${boundHost} with authentication OFF: anyone who can reach this ` +
      'address can create, change and cancel tasks. Enable auth (auth.enabled + jwt or authenticate).';
    options.tasker.logger.warn({ host: boundHost }, warning);
    process.emitWarning(warning, { code: 'TASKER_AUTH_OFF' });
  }
  const prefix = resolveApiOptions(rest).prefix;
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
