/**
 * The `tasker` command's exit codes (documented in docs/cli.md; scripts may rely on them).
 */
import { isTransientDatabaseError } from '../db/sql-errors.js';
import { ERROR_CODES, type ErrorCode, EXIT, type ExitCode, isTaskerError } from '../errors.js';

// The exit codes and the error codes' own exit codes live in the one registry (errors.ts).
export { EXIT, type ExitCode };

/** A failure the CLI reports with a specific exit code and message (no stack trace). */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: ErrorCode;
  constructor(exitCode: ExitCode, message: string, code: ErrorCode = 'TASKER_CLI_ERROR') {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (isTaskerError(error)) return ERROR_CODES[error.code].exitCode;
  if (isTransientDatabaseError(error)) return EXIT.UNAVAILABLE;
  return EXIT.INTERNAL;
}
