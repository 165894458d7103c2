/**
 * The request log: every failed request (status 400 and above) becomes one line in the Tasker's logger
 * (the project's pino logger, whatever Fastify's own logger does), with its correlation id. 5xx at error,
 * with the error; 4xx at debug. A line holds the method, the path without its query string (which may
 * carry an access token), the status, the problem code and the duration: never a body or a header.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../config/options.js';

export interface FailedRequest {
  readonly correlationId: string | null;
  readonly method: string;
  /** The URL as received; only its path is logged. */
  readonly url: string;
  readonly status: number;
  readonly code?: string;
  /** The error behind a 5xx. */
  readonly error?: unknown;
  readonly durationMs?: number;
}

const MAX_PATH = 200;

export function logFailedRequest(logger: Logger, failed: FailedRequest): void {
  const path = failed.url.split('?')[0]!;
  const line = {
    correlationId: failed.correlationId,
    method: failed.method,
    path: path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path,
    status: failed.status,
    ...(failed.code ? { code: failed.code } : {}),
    ...(failed.durationMs !== undefined ? { durationMs: Math.round(failed.durationMs * 10) / 10 } : {}),
  };
  const summary = `${line.method} ${line.path} -> ${failed.status}${failed.code ? ` ${failed.code}` : ''}`;
  if (failed.status >= 500) {
    logger.error(
      failed.error === undefined ? line : { ...line, err: failed.error },
      `request failed: ${summary}`,
    );
  } else {
    logger.debug(line, `request refused: ${summary}`);
  }
}

/** Logs every failed response of the routes in `app` (and the plugins registered in it afterwards). */
export function logFailedRequests(app: FastifyInstance, logger: Logger): void {
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 400) return;
    logFailedRequest(logger, {
      correlationId: request.correlationId || null,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      code: request.taskerFailure?.code,
      error: request.taskerFailure?.error,
      durationMs: reply.elapsedTime,
    });
  });
}
