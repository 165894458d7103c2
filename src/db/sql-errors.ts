/**
 * PostgreSQL errors by SQLSTATE: which ones a retry can fix (lost connections, deadlocks, serialization
 * failures), and the engine's own codes raised by its SQL functions (RAISE ... USING ERRCODE = 'TK...').
 */
import { type ErrorCode, TaskerError } from '../errors.js';

const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
]);

const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the same statement may succeed if sent again (after a short wait). */
export function isTransientDatabaseError(error: unknown): boolean {
  // Lost the owner of an embedded data directory (data-dir/open-data-dir.ts): the next statement goes to
  // the next owner.
  if (error instanceof TaskerError && error.code === 'TASKER_DATABASE_UNAVAILABLE') return true;
  const code = sqlState(error);
  if (code && (RETRYABLE_SQLSTATES.has(code) || RETRYABLE_NODE_CODES.has(code))) return true;
  const message = (error as Error | null)?.message ?? '';
  return /Connection terminated|connection.*(closed|ended|lost)|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    message,
  );
}

const ENGINE_SQLSTATES: Record<string, ErrorCode> = {
  TKNF1: 'TASKER_TASK_NOT_FOUND',
  TKNF2: 'TASKER_STEP_NOT_FOUND',
  TKNF3: 'TASKER_UNKNOWN_TASK',
  TKIL1: 'TASKER_ILLEGAL_TRANSITION',
  TKOP1: 'TASKER_OPERATION_NOT_ALLOWED',
  '55P03': 'TASKER_OPERATION_NOT_ALLOWED', // lock_not_available: the row is being worked on
};

/** Turns the engine's own SQL errors into TaskerErrors; anything else is returned unchanged. */
export function translateDatabaseError(error: unknown): unknown {
  const code = sqlState(error);
  const mapped = code ? ENGINE_SQLSTATES[code] : undefined;
  if (!mapped) return error;
  const message =
    code === '55P03'
      ? 'the step is being worked on right now; try again in a moment'
      : (error as Error).message;
  return new TaskerError(mapped, message, { cause: error });
}
