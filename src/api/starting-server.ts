/**
 * A server that listens before the engine is ready. `tasker serve` binds its port first (a port in use
 * fails at once, before a worker starts) and, while it waits for the database, answers as an
 * orchestrator expects: `<prefix>/health/live` 200, `<prefix>/health/ready` 503, and every other route a
 * 503 TASKER_DATABASE_UNAVAILABLE problem with Retry-After. Once the API is built it takes the requests
 * over on the same socket (`startServer({ listening })`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { retryAfterSeconds, TaskerError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problems.js';

/** Node's limit on the request line plus headers (431 beyond), for this server and the API's. */
export const DEFAULT_MAX_HEADER_SIZE = 16_384;
/** Time to receive a whole request (408 beyond); 0 turns it off. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface StartingServer {
  readonly server: Server;
  /** http://host:port, without the prefix. */
  readonly origin: string;
  /** From now on requests go to `handler`. */
  handOver(handler: RequestHandler): void;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** A listen error as a configuration problem naming the address and the fix. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const fix = 'choose another port with --port, api.port or PORT (0 picks a free one)';
  const why =
    code === 'EADDRINUSE'
      ? `the port is in use by another process: stop it or ${fix}`
      : code === 'EACCES'
        ? `permission denied (ports below 1024 need privileges): ${fix}`
        : code === 'EADDRNOTAVAIL'
          ? 'the host is not an address of this machine: correct --host or api.host'
          : undefined;
  if (!why) return error;
  return new TaskerError('TASKER_INVALID_CONFIG', `cannot listen on ${host}:${port}: ${why}`, {
    cause: error,
  });
}

function send(response: ServerResponse, status: number, type: string, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Answers while the engine starts: live, not ready, everything else 503 with Retry-After. */
function startingHandler(prefix: string): RequestHandler {
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === `${prefix}/health/live`) return send(response, 200, 'application/json', { status: 'ok' });
    const waiting = 'the server is starting: waiting for the database';
    if (path === `${prefix}/health/ready`) {
      return send(response, 503, 'application/json', {
        status: 'fail',
        checks: { database: { status: 'fail', detail: waiting } },
      });
    }
    response.setHeader('Retry-After', String(retryAfterSeconds('TASKER_DATABASE_UNAVAILABLE')));
    send(response, 503, PROBLEM_CONTENT_TYPE, {
      ...problem(503, 'TASKER_DATABASE_UNAVAILABLE', `${waiting}; try again shortly`),
      instance: path,
    });
  };
}

/**
 * Binds `host:port` now. Throws TASKER_INVALID_CONFIG when the port is in use (or not allowed), naming it.
 */
export async function listenWhileStarting(options: {
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
  /** The API's limits (server.ts), set here because the API takes this server over. */
  readonly maxHeaderSize?: number;
  readonly requestTimeoutMs?: number;
}): Promise<StartingServer> {
  let handler = startingHandler(options.prefix);
  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    },
    (request, response) => handler(request, response),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, options.host, options.port)));
    server.listen({ host: options.host, port: options.port }, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    origin: `http://${host}:${address.port}`,
    handOver(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
