/**
 * Correlation ids: the id a client sends (`X-Correlation-ID` by default) when it is a sane token, or a
 * fresh UUID. It is returned on every response, stored on the tasks a request creates and put on every log
 * line of the request.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's correlation id, taken from `header` (lower case) or made; idempotent. */
export function assignCorrelationId(request: FastifyRequest, reply: FastifyReply, header: string): string {
  if (!request.correlationId) {
    const given = request.headers[header.toLowerCase()];
    request.correlationId = typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
  }
  if (!reply.hasHeader(header)) reply.header(header, request.correlationId);
  return request.correlationId;
}
