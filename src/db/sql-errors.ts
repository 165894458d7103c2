/**
 * What a database error means, in one table keyed by SQLSTATE (PostgreSQL's own codes and the engine's,
 * raised by its SQL functions with RAISE ... USING ERRCODE = 'TK...') and by Node's network error codes:
 * whether waiting can fix it, whether the statement may simply run again, or what the user must change.
 * Everything that decides "retry", "503" or "exit 6" reads this table (after graphile-worker's
 * RETRYABLE_ERROR_CODES and DBOS's retriable-exception check).
 */
import { type ErrorCode, isTaskerError, TaskerError } from '../errors.js';

/**
 * - `unavailable`: the database cannot be reached right now (down, starting up, shutting down, full,
 *   unreachable, timed out). Waiting fixes it: start-up waits, the API answers 503, the CLI exits 6.
 * - `conflict`: a concurrent transaction got in the way (serialization failure, deadlock): send it again.
 * - `credentials`: the server refused the user or the password. Waiting will not fix it.
 * - `no-database`: the database named in the URL does not exist. Waiting will not fix it.
 * - `engine`: one of the engine's own refusals, raised as the TaskerError `code`.
 * - `unregistered-worker`: a worker's row is gone (reaped after its heartbeat stopped); the worker
 *   registers again. Never shown to users.
 */
export type DatabaseErrorKind =
  | 'unavailable'
  | 'conflict'
  | 'credentials'
  | 'no-database'
  | 'engine'
  | 'unregistered-worker';

export interface DatabaseErrorClass {
  readonly kind: DatabaseErrorKind;
  /** What happened, in a few words for messages and logs (never connection details). */
  readonly reason: string;
  /** For `engine`: the TaskerError code it becomes. */
  readonly errorCode?: ErrorCode;
}

const unavailable = (reason: string): DatabaseErrorClass => ({ kind: 'unavailable', reason });
const engine = (errorCode: ErrorCode, reason: string): DatabaseErrorClass => ({
  kind: 'engine',
  errorCode,
  reason,
});

/** SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) and Node error codes. */
const DATABASE_ERRORS: Readonly<Record<string, DatabaseErrorClass>> = {
  // Class 08, connection exceptions.
  '08000': unavailable('the connection failed'),
  '08001': unavailable('the connection could not be established'),
  '08003': unavailable('the connection does not exist'),
  '08004': unavailable('the server rejected the connection'),
  '08006': unavailable('the connection failed'),
  // Class 53, insufficient resources: the server is full for now.
  '53300': unavailable('too many connections'),
  // Class 57, operator intervention: the server is going down or not up yet.
  '57P01': unavailable('the server terminated the connection (admin shutdown)'),
  '57P02': unavailable('the server is restarting after a crash'),
  '57P03': unavailable('the database system is starting up or shutting down'),
  // Class 40, transaction rollback: another transaction got in the way.
  '40001': { kind: 'conflict', reason: 'serialization failure' },
  '40P01': { kind: 'conflict', reason: 'deadlock detected' },
  // Class 28 and 3D: the URL names a user, password or database the server does not accept.
  '28000': { kind: 'credentials', reason: 'the server does not accept this user from this host' },
  '28P01': { kind: 'credentials', reason: 'password authentication failed' },
  '3D000': { kind: 'no-database', reason: 'the database does not exist' },
  // Node's network errors while connecting or talking to the server.
  ECONNREFUSED: unavailable('connection refused'),
  ECONNRESET: unavailable('the connection was reset'),
  EPIPE: unavailable('the connection was closed'),
  ETIMEDOUT: unavailable('timed out'),
  EHOSTUNREACH: unavailable('the host is unreachable'),
  ENETUNREACH: unavailable('the network is unreachable'),
  // A container's database host name often resolves only once that container runs.
  ENOTFOUND: unavailable('host name not found'),
  EAI_AGAIN: unavailable('host name lookup failed'),
  // The engine's own codes.
  TKNF1: engine('TASKER_TASK_NOT_FOUND', 'no such task'),
  TKNF2: engine('TASKER_STEP_NOT_FOUND', 'no such step'),
  TKNF3: engine('TASKER_UNKNOWN_TASK', 'no such task template'),
  TKIL1: engine('TASKER_ILLEGAL_TRANSITION', 'illegal transition'),
  TKOP1: engine('TASKER_OPERATION_NOT_ALLOWED', 'not allowed in this state'),
  '55P03': engine('TASKER_OPERATION_NOT_ALLOWED', 'the row is locked'), // lock_not_available
  TKAU1: engine('TASKER_OPERATION_NOT_ALLOWED', 'the audit trail is append-only'), // migration 14
  TKW01: { kind: 'unregistered-worker', reason: 'the worker is not registered' }, // heartbeat()
};

/** node-postgres reports some lost or timed-out connections only by message, without a code. */
const MESSAGES: ReadonlyArray<readonly [RegExp, DatabaseErrorClass]> = [
  [/timeout exceeded when trying to connect|connection timeout|timeout expired/i, unavailable('timed out')],
  [
    /Connection terminated|connection.*(closed|ended|lost)|Client has encountered a connection error/i,
    unavailable('the connection was lost'),
  ],
];

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The class of a database error, or null when the table does not know it (a bug, bad SQL...). */
export function classifyDatabaseError(error: unknown): DatabaseErrorClass | null {
  if (isTaskerError(error, 'TASKER_DATABASE_UNAVAILABLE')) {
    return classifyDatabaseError(error.cause) ?? unavailable('unavailable');
  }
  if (error === null || typeof error !== 'object') return null;
  const code = sqlState(error);
  const known = code === undefined ? undefined : DATABASE_ERRORS[code];
  if (known) return known;
  // Connecting to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with all of them.
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.length > 0) return classifyDatabaseError(inner[0]);
  // Only errors without a code: another library's coded error (Fastify's FST_...) is not ours to guess.
  const message = (error as { message?: unknown }).message;
  if (code === undefined && typeof message === 'string') {
    for (const [pattern, found] of MESSAGES) if (pattern.test(message)) return found;
  }
  return null;
}

/** True when the same statement may succeed if sent again (after a short wait). */
export function isTransientDatabaseError(error: unknown): boolean {
  const kind = classifyDatabaseError(error)?.kind;
  return kind === 'unavailable' || kind === 'conflict';
}

/** True when the database no longer knows the worker that sent the statement (it registers again). */
export function isUnregisteredWorker(error: unknown): boolean {
  return classifyDatabaseError(error)?.kind === 'unregistered-worker';
}

/** True when the database cannot be reached right now (down, starting, full, unreachable, timed out). */
export function isDatabaseUnavailable(error: unknown): boolean {
  return classifyDatabaseError(error)?.kind === 'unavailable';
}

/**
 * Turns database errors into TaskerErrors: the engine's own codes into theirs, and a database that cannot
 * be reached (or no longer accepts this user or database) into TASKER_DATABASE_UNAVAILABLE, whose message
 * names the reason but no host or user. Anything else is returned unchanged.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (isTaskerError(error)) return error;
  const found = classifyDatabaseError(error);
  if (!found) return error;
  if (found.kind === 'engine') {
    const message =
      sqlState(error) === '55P03'
        ? 'the step is being worked on right now; try again in a moment'
        : (error as Error).message;
    return new TaskerError(found.errorCode!, message, { cause: error });
  }
  if (found.kind === 'conflict' || found.kind === 'unregistered-worker') return error;
  return new TaskerError(
    'TASKER_DATABASE_UNAVAILABLE',
    `the database is unavailable (${found.reason}); try again shortly`,
    { cause: error },
  );
}
