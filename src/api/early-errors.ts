/**
 * Errors raised before a request reaches a route, answered as problems like every other error:
 * - by Node's HTTP parser (Fastify's `clientErrorHandler`): a malformed request (400), a request line
 *   and headers beyond `maxHeaderSize` (431), a request not fully received within `requestTimeoutMs`
 *   (408). No request object exists then: the problem is written to the socket, which is closed.
 * - by Fastify's router (`frameworkErrors`): a path that is not valid URL encoding (400), a path segment
 *   longer than the router accepts (414).
 * Each is logged like any failed request (request-log.ts), with the correlation id it was answered with.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../config/options.js';
import type { ErrorCode } from '../errors.js';
import { assignCorrelationId } from './correlation.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE, problem, sendProblem } from './problems.js';
import { logFailedRequest } from './request-log.js';

export interface EarlyErrorOptions {
  readonly logger: Logger;
  readonly correlationIdHeader: string;
  /** Longest path segment the router accepts (Fastify's maxParamLength). */
  readonly maxParamLength: number;
}

function classifyConnectionError(error: ConnectionError): [number, ErrorCode, string] {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'TASKER_REQUEST_TIMEOUT', 'the request was not received in time'];
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        'TASKER_HEADERS_TOO_LARGE',
        'the request line and headers are larger than the server accepts (maxHeaderSize)',
      ];
    default:
      return [400, 'TASKER_INVALID_REQUEST', `malformed HTTP request (${error.code ?? 'parse error'})`];
  }
}

/** Fastify's `clientErrorHandler`: a problem written straight to the socket. */
export function clientErrorHandler(
  options: EarlyErrorOptions,
): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    // A connection reset or an already closed socket: nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, detail] = classifyConnectionError(error);
    const correlationId = randomUUID();
    logFailedRequest(options.logger, { correlationId, method: '-', url: '-', status, code });
    // Only when nothing of a response went out yet (as Node's own handler does).
    if (socket.writable && socket.bytesWritten === 0) {
      const body = JSON.stringify(problem(status, code, detail));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `${options.correlationIdHeader}: ${correlationId}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy(error);
  };
}

/** Fastify's `frameworkErrors`: errors of the router, before any hook runs. */
export function frameworkErrorHandler(
  options: EarlyErrorOptions,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    assignCorrelationId(request, reply, options.correlationIdHeader);
    const problemError =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new HttpProblem(
            414,
            'TASKER_URI_TOO_LONG',
            `a segment of the path is longer than ${options.maxParamLength} characters`,
          )
        : error.code === 'FST_ERR_BAD_URL'
          ? new HttpProblem(400, 'TASKER_INVALID_REQUEST', 'the path is not valid URL encoding')
          : error;
    sendProblem(request, reply, problemError);
    logFailedRequest(options.logger, {
      correlationId: request.correlationId,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      code: request.taskerFailure?.code,
      error: request.taskerFailure?.error,
    });
  };
}
