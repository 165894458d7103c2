/**
 * The `tasker` command's exit codes (documented in docs/cli.md; scripts may rely on them).
 */
import { isTransientDatabaseError } from '../db/sql-errors.js';
import { type ErrorCode, isTaskerError } from '../errors.js';

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

const BY_ERROR_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  TASKER_INVALID_CONFIG: EXIT.INVALID,
  TASKER_INVALID_DEFINITION: EXIT.INVALID,
  TASKER_DUPLICATE_DEFINITION: EXIT.INVALID,
  TASKER_INVALID_REQUEST: EXIT.USAGE,
  TASKER_INVALID_CONTEXT: EXIT.USAGE,
  TASKER_TASK_NOT_FOUND: EXIT.NOT_FOUND,
  TASKER_STEP_NOT_FOUND: EXIT.NOT_FOUND,
  TASKER_UNKNOWN_TASK: EXIT.NOT_FOUND,
  TASKER_ILLEGAL_TRANSITION: EXIT.CONFLICT,
  TASKER_OPERATION_NOT_ALLOWED: EXIT.CONFLICT,
  TASKER_DUPLICATE_TASK: EXIT.CONFLICT,
  TASKER_DATABASE_UNAVAILABLE: EXIT.UNAVAILABLE,
  TASKER_MIGRATION_FAILED: EXIT.UNAVAILABLE,
  TASKER_DATA_DIR_IN_USE: EXIT.UNAVAILABLE,
  TASKER_CLOSED: EXIT.UNAVAILABLE,
  TASKER_WAIT_TIMEOUT: EXIT.TIMEOUT,
};

/** A failure the CLI reports with a specific exit code and message (no stack trace). */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  constructor(exitCode: ExitCode, message: string, code = 'TASKER_CLI_ERROR') {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (isTaskerError(error)) return BY_ERROR_CODE[error.code] ?? EXIT.INTERNAL;
  if (isTransientDatabaseError(error)) return EXIT.UNAVAILABLE;
  return EXIT.INTERNAL;
}
