/**
 * RFC 9457 problem details for every error the API returns: TaskerErrors keep their status and code,
 * Fastify's own 4xx errors (validation, body too large, bad JSON, unsupported media type) become the
 * matching problem with each invalid field, and anything else is a 500 that says nothing of its cause.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sqlState, translateDatabaseError } from '../db/sql-errors.js';
import { type ErrorCode, isTaskerError, type Problem, retryAfterSeconds } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: Problem[];
  instance?: string;
  /** TASKER_DUPLICATE_TASK: the task the request duplicates. */
  existingTaskId?: number;
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
    readonly code: ErrorCode,
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

export function problem(status: number, code: ErrorCode, detail: string, errors?: Problem[]): ProblemDetails {
  return {
    type: `https://tasker.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? STATUS_CODES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
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
    const body = problem(
      status,
      translated.code,
      detail,
      translated.details ? [...translated.details] : undefined,
    );
    if (translated.existingTaskId !== undefined) body.existingTaskId = translated.existingTaskId;
    return {
      body,
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
    return {
      body: problem(
        status,
        CLIENT_ERROR_CODES[status] ?? 'TASKER_INVALID_REQUEST',
        fe.message ?? 'bad request',
      ),
    };
  }
  return { body: problem(500, 'TASKER_INTERNAL_ERROR', 'internal error') };
}

/** The registry code of each 4xx that Fastify or Node raise themselves (others: TASKER_INVALID_REQUEST). */
export const CLIENT_ERROR_CODES: Readonly<Record<number, ErrorCode>> = {
  404: 'TASKER_NOT_FOUND',
  408: 'TASKER_REQUEST_TIMEOUT',
  413: 'TASKER_BODY_TOO_LARGE',
  414: 'TASKER_URI_TOO_LONG',
  415: 'TASKER_UNSUPPORTED_MEDIA_TYPE',
  431: 'TASKER_HEADERS_TOO_LARGE',
};

/** What the request log (request-log.ts) says of a failed request: its code, and the error of a 5xx. */
export interface RequestFailure {
  readonly code: string;
  readonly error?: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the response is a problem. */
    taskerFailure?: RequestFailure;
  }
}

/** Answers with the problem for `error`; the request log (request-log.ts) writes the line. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { body, headers } = toProblem(error);
  // The error itself is logged only when it is unexpected: a problem raised on purpose says it all.
  request.taskerFailure = {
    code: body.code,
    ...(body.status >= 500 && !(error instanceof HttpProblem) ? { error } : {}),
  };
  if (headers) reply.headers(headers);
  return reply
    .code(body.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, instance: request.url.split('?')[0] });
}
