/**
 * Every error Tasker raises on purpose is a `TaskerError` with a stable `code`, an HTTP status the API
 * server uses as is, and optional structured `details` (for validation errors: one entry per problem).
 * The table below is the single registry of codes, with the HTTP status, the CLI's exit code and a
 * one-line summary; test/unit/error-registry.test.ts checks that every code is used in src/ and listed
 * in docs/api.md, and that every code src/ raises is here.
 */

/** The `tasker` command's exit codes (docs/cli.md; scripts may rely on them). */
export const EXIT = {
  /** Success; for `run`, the task completed. */
  OK: 0,
  /** `run`: the task ended in error. `doctor`: a check failed. */
  FAILED: 1,
  /** Bad arguments or input (unknown option, invalid JSON, a context the schema refuses). */
  USAGE: 2,
  /** Invalid configuration or task templates (`validate` found problems). */
  INVALID: 3,
  /** No such task, step or task template. */
  NOT_FOUND: 4,
  /**
   * The operation is not allowed in the task's or step's current state; for `run`, the task exists
   * already and its template's identity strategy is strict.
   */
  CONFLICT: 5,
  /** The database cannot be reached, or a migration failed. */
  UNAVAILABLE: 6,
  /** `run --timeout`: the task had not finished in time (it keeps running). */
  TIMEOUT: 7,
  /** `run`: the task was cancelled. */
  CANCELLED: 8,
  /** An unexpected error (a bug: please report it with the output). */
  INTERNAL: 70,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
  /** The reader of stdout went away (`| head`): stopped silently, as a process killed by SIGPIPE. */
  BROKEN_PIPE: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface ErrorCodeEntry {
  /** The HTTP status the API answers with. */
  readonly status: number;
  /** The exit code of the `tasker` command that fails with it. */
  readonly exitCode: ExitCode;
  readonly summary: string;
  /** The HTTP Retry-After, for codes a client should simply retry. */
  readonly retryAfterSeconds?: number;
}

export const ERROR_CODES = {
  TASKER_INVALID_DEFINITION: {
    status: 400,
    exitCode: EXIT.INVALID,
    summary: 'A task definition or template is invalid.',
  },
  TASKER_DUPLICATE_DEFINITION: {
    status: 409,
    exitCode: EXIT.INVALID,
    summary: 'A task with this namespace, name and version is already registered.',
  },
  TASKER_UNKNOWN_TASK: {
    status: 404,
    exitCode: EXIT.NOT_FOUND,
    summary: 'No task template is registered under that name.',
  },
  TASKER_INVALID_REQUEST: {
    status: 400,
    exitCode: EXIT.USAGE,
    summary: 'A request is malformed (which field, what was expected).',
  },
  TASKER_INVALID_CONTEXT: {
    status: 422,
    exitCode: EXIT.USAGE,
    summary: "A task context does not match the template's schema.",
  },
  TASKER_TASK_NOT_FOUND: { status: 404, exitCode: EXIT.NOT_FOUND, summary: 'No task has that id.' },
  TASKER_STEP_NOT_FOUND: { status: 404, exitCode: EXIT.NOT_FOUND, summary: 'No step has that id.' },
  TASKER_SCHEDULE_NOT_FOUND: { status: 404, exitCode: EXIT.NOT_FOUND, summary: 'No schedule has that name.' },
  TASKER_TASK_ARCHIVED: {
    status: 409,
    exitCode: EXIT.CONFLICT,
    summary: 'The task (or the task of the step) is in the archive, where it can be read but not changed.',
  },
  TASKER_DUPLICATE_TASK: {
    status: 409,
    exitCode: EXIT.CONFLICT,
    summary:
      'A task for the same request already exists and its template uses the strict identity strategy (`existingTaskId` names it).',
  },
  TASKER_ILLEGAL_TRANSITION: {
    status: 409,
    exitCode: EXIT.CONFLICT,
    summary: 'The state machine does not allow that transition.',
  },
  TASKER_OPERATION_NOT_ALLOWED: {
    status: 409,
    exitCode: EXIT.CONFLICT,
    summary: 'The operation is not allowed in the current state of the task or step.',
  },
  TASKER_INVALID_CONFIG: { status: 500, exitCode: EXIT.INVALID, summary: 'The configuration is invalid.' },
  TASKER_WAIT_TIMEOUT: {
    status: 408,
    exitCode: EXIT.TIMEOUT,
    summary: 'A task did not finish within the time waited for it.',
  },
  TASKER_CLOSED: { status: 503, exitCode: EXIT.UNAVAILABLE, summary: 'The Tasker instance has been closed.' },
  TASKER_DATABASE_UNAVAILABLE: {
    status: 503,
    exitCode: EXIT.UNAVAILABLE,
    summary: 'The database could not be reached (down, starting, full or unreachable); try again shortly.',
    retryAfterSeconds: 5,
  },
  TASKER_MIGRATION_FAILED: {
    status: 500,
    exitCode: EXIT.UNAVAILABLE,
    summary: 'A database migration failed.',
  },
  TASKER_UNKNOWN_NAMESPACE: {
    status: 404,
    exitCode: EXIT.NOT_FOUND,
    summary: 'No task template is registered in that namespace.',
  },
  TASKER_FEATURE_DISABLED: {
    status: 404,
    exitCode: EXIT.INTERNAL,
    summary: 'The feature is turned off in the configuration.',
  },
  // HTTP API: what the server answers before or around the engine (docs/api.md, Errors).
  TASKER_NOT_FOUND: {
    status: 404,
    exitCode: EXIT.NOT_FOUND,
    summary: 'No API route matches the method and path.',
  },
  TASKER_UI_NOT_BUILT: {
    status: 404,
    exitCode: EXIT.NOT_FOUND,
    summary: 'The dashboard was not built (npm run build).',
  },
  TASKER_UNAUTHENTICATED: {
    status: 401,
    exitCode: EXIT.USAGE,
    summary: 'The request carries no acceptable credentials.',
  },
  TASKER_FORBIDDEN: {
    status: 403,
    exitCode: EXIT.USAGE,
    summary: 'The caller lacks the permission the route needs.',
  },
  TASKER_REQUEST_TIMEOUT: {
    status: 408,
    exitCode: EXIT.TIMEOUT,
    summary: 'The request was not received in time.',
  },
  TASKER_BODY_TOO_LARGE: {
    status: 413,
    exitCode: EXIT.USAGE,
    summary: 'The request body is larger than the API accepts.',
  },
  TASKER_URI_TOO_LONG: {
    status: 414,
    exitCode: EXIT.USAGE,
    summary: 'The URL, or one segment of its path, is too long.',
  },
  TASKER_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    exitCode: EXIT.USAGE,
    summary: 'The request body has a content type the route does not accept.',
  },
  TASKER_HEADERS_TOO_LARGE: {
    status: 431,
    exitCode: EXIT.USAGE,
    summary: 'The request line and headers exceed the size accepted.',
  },
  TASKER_QUERY_TOO_COMPLEX: {
    status: 400,
    exitCode: EXIT.USAGE,
    summary: 'A GraphQL query is deeper, has more aliases or costs more than the limits allow.',
  },
  TASKER_INTERNAL_ERROR: {
    status: 500,
    exitCode: EXIT.INTERNAL,
    summary: 'An unexpected error; its details are in the server log.',
  },
  TASKER_SHUTTING_DOWN: {
    status: 503,
    exitCode: EXIT.UNAVAILABLE,
    summary: 'The server is shutting down and takes no new requests.',
  },
  // The CLI: arguments or files a command refuses (its exit code is the command's, docs/cli.md).
  TASKER_CLI_ERROR: {
    status: 400,
    exitCode: EXIT.USAGE,
    summary: 'A command-line argument, option or file is refused (the message says which).',
  },
  TASKER_DATA_DIR_IN_USE: {
    status: 503,
    exitCode: EXIT.UNAVAILABLE,
    summary: 'Another process owns the embedded data directory and cannot share it with this one.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Seconds a client should wait before trying again (the HTTP Retry-After), for codes that say so. */
export function retryAfterSeconds(code: ErrorCode): number | undefined {
  const entry = ERROR_CODES[code];
  return 'retryAfterSeconds' in entry ? entry.retryAfterSeconds : undefined;
}

/** One problem found while validating input: where it is and what was expected. */
export interface Problem {
  /** Where the problem is: a JSON pointer (`/cart/id`), a field path (`steps[2].dependsOn`) or a file. */
  readonly path: string;
  readonly message: string;
}

export class TaskerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly Problem[] | undefined;
  /** TASKER_DUPLICATE_TASK: the task the request duplicates. */
  readonly existingTaskId: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: readonly Problem[]; cause?: unknown; existingTaskId?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaskerError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
    this.existingTaskId = options.existingTaskId;
  }
}

/** True for a TaskerError, optionally of the given code. */
export function isTaskerError(error: unknown, code?: ErrorCode): error is TaskerError {
  return error instanceof TaskerError && (code === undefined || error.code === code);
}

/** Formats problems as an indented list for error messages. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Errors a step handler throws to tell the engine what to do with a failure.

/** A failure worth retrying. `retryAfterMs` asks for a specific delay (capped by the backoff maximum). */
export class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;
  readonly code: string | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;

  constructor(
    message: string,
    options: {
      retryAfterMs?: number;
      code?: string;
      context?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryableError';
    this.code = options.code;
    if (
      options.retryAfterMs !== undefined &&
      !(Number.isFinite(options.retryAfterMs) && options.retryAfterMs >= 0)
    ) {
      throw new TypeError(`retryAfterMs must be a non-negative number, got ${options.retryAfterMs}`);
    }
    this.retryAfterMs = options.retryAfterMs;
    this.context = options.context;
  }
}

/**
 * The dependent system refused for load (HTTP 429): retried like a RetryableError, and the rate limits
 * the step consumes slow down (no tokens for `retryAfterMs`, then half the rate, recovering over a
 * minute; docs/flow-control.md#rate-limits). The built-in `http` handler throws it on a 429.
 */
export class RateLimitedError extends RetryableError {
  constructor(
    message: string,
    options: {
      retryAfterMs?: number;
      code?: string;
      context?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { ...options, code: options.code ?? 'RATE_LIMITED' });
    this.name = 'RateLimitedError';
  }
}

/** A failure that retrying cannot fix: the step fails at once, whatever attempts are left. */
export class PermanentError extends Error {
  readonly code: string | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;

  constructor(
    message: string,
    options: { code?: string; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PermanentError';
    this.code = options.code;
    this.context = options.context;
  }
}

/** Raised into a handler's AbortSignal (and recorded) when a step runs past its timeout. */
export class StepTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`step timed out after ${timeoutMs} ms`);
    this.name = 'StepTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** Raised into a handler's AbortSignal when its task is cancelled or its worker stops. */
export class StepAbortedError extends Error {
  readonly reason: 'task_cancelled' | 'lease_lost' | 'worker_stopping';
  constructor(reason: StepAbortedError['reason'], message: string) {
    super(message);
    this.name = 'StepAbortedError';
    this.reason = reason;
  }
}
