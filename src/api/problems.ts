/**
 * RFC 9457 problem details for every error the API returns: TaskerErrors keep their status and code,
 * Fastify's own 4xx errors (validation, body too large, bad JSON, unsupported media type) become the
 * matching problem with each invalid field, and anything else is a 500 that says nothing of its cause.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sqlState, translateDatabaseError } from '../db/sql-errors.js';
import { isTaskerError, type Problem, retryAfterSeconds } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: Problem[];
  instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error the API raises itself with a status, code and optional field problems. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: Problem[],
    /** Extra response headers (WWW-Authenticate). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }

  /** What Fastify and mercurius read to choose the response status. */
  get statusCode(): number {
    return this.status;
  }
}

export function problem(status: number, code: string, detail: string, errors?: Problem[]): ProblemDetails {
  return {
    type: `https://tasker.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** One problem per failed validation, with a path a client can use (`body/tags/0`, `query/limit`). */
export function validationProblems(context: string | undefined, errors: readonly AjvLikeError[]): Problem[] {
  return errors.map((e) => {
    let path = `${context ?? 'body'}${e.instancePath ?? ''}`;
    if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
      path = `${path}/${e.params.additionalProperty}`;
      return { path, message: 'unknown property' };
    }
    if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
      path = `${path}/${e.params.missingProperty}`;
      return { path, message: 'is required' };
    }
    return { path, message: e.message ?? 'is invalid' };
  });
}

/** Maps any error to a problem; 5xx details stay in the log. */
export function toProblem(error: unknown): { body: ProblemDetails; headers?: Record<string, string> } {
  if (error instanceof HttpProblem) {
    return { body: problem(error.status, error.code, error.message, error.errors), headers: error.headers };
  }
  // A database that cannot be reached (or an engine SQLSTATE) reaching a route untranslated.
  const translated = translateDatabaseError(error);
  if (isTaskerError(translated)) {
    const status = translated.status >= 500 && translated.status !== 503 ? 500 : translated.status;
    const detail = status === 500 ? 'internal error' : translated.message;
    const retryAfter = retryAfterSeconds(translated.code);
    return {
      body: problem(
        status,
        translated.code,
        detail,
        translated.details ? [...translated.details] : undefined,
      ),
      ...(retryAfter === undefined ? {} : { headers: { 'Retry-After': String(retryAfter) } }),
    };
  }
  const state = sqlState(error);
  if (state?.startsWith('22')) {
    // A data exception: a value the request carried cannot be stored (too long, bad encoding...).
    return {
      body: problem(
        400,
        'TASKER_INVALID_REQUEST',
        `a value in the request cannot be stored: ${(error as Error).message}`,
      ),
    };
  }
  const fe = error as Partial<FastifyError> & { validation?: AjvLikeError[] };
  if (Array.isArray(fe.validation)) {
    const errors = validationProblems(fe.validationContext, fe.validation);
    return {
      body: problem(
        400,
        'TASKER_INVALID_REQUEST',
        `invalid request: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        errors,
      ),
    };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      status === 413
        ? 'TASKER_BODY_TOO_LARGE'
        : status === 415
          ? 'TASKER_UNSUPPORTED_MEDIA_TYPE'
          : status === 404
            ? 'TASKER_NOT_FOUND'
            : 'TASKER_INVALID_REQUEST';
    return { body: problem(status, code, fe.message ?? 'bad request') };
  }
  return { body: problem(500, 'TASKER_INTERNAL_ERROR', 'internal error') };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { body, headers } = toProblem(error);
  if (body.status >= 500 && body.status !== 503) request.log.error({ err: error }, 'request failed');
  else if (body.code === 'TASKER_DATABASE_UNAVAILABLE') request.log.warn({ err: error }, body.detail);
  else request.log.info({ code: body.code, status: body.status }, body.detail);
  if (headers) reply.headers(headers);
  return reply
    .code(body.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, instance: request.url.split('?')[0] });
}
