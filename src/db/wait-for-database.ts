/**
 * Waiting for PostgreSQL at start-up. A fleet often starts before its database (containers, a restart of
 * both): a database that is down, starting up, shutting down, full or unreachable is tried again with
 * capped exponential backoff and jitter, one log line per try, up to a time limit. What waiting cannot
 * fix (wrong credentials, a missing database, anything unknown) fails at once with its own message and fix.
 */

import { TaskerError } from '../errors.js';
import type { Logger } from '../model/logger.js';
import type { Queryable } from './database.js';
import { type DatabaseAddress, describeDatabase } from './database-url.js';
import { classifyDatabaseError, sqlState } from './sql-errors.js';

/** First retry after about 250 ms, doubling, at most 5 s apart. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
/** A try that neither succeeds nor fails (a host that drops packets) is given up after this long. */
const MIN_TRY_MS = 1000;

/**
 * The pause after failed try `attempt` (1, 2, ...): 250 ms doubling up to 5 s, "equal jitter" (between half
 * and all of it) so that a fleet started at once does not knock in lock step. Pure.
 */
export function connectRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(FIRST_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS);
  return Math.round(base / 2 + (random() * base) / 2);
}

export interface WaitForDatabaseOptions {
  /** Where the database is (for messages; from the connection URL). */
  readonly address: DatabaseAddress;
  /** Longest time to keep trying, in ms; 0 tries once. */
  readonly timeoutMs: number;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/** Rejects with an ETIMEDOUT error when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `SELECT 1` succeeds. Throws TASKER_DATABASE_UNAVAILABLE when the time is up, or at once for
 * an error that waiting will not fix; the message says what is wrong and what to do.
 */
export async function waitForDatabase(db: Queryable, options: WaitForDatabaseOptions): Promise<void> {
  const { address, timeoutMs, logger } = options;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const target = describeDatabase(address);
  const started = now();
  for (let attempt = 1; ; attempt++) {
    const remaining = timeoutMs - (now() - started);
    try {
      await within(db.query('SELECT 1'), Math.max(remaining, MIN_TRY_MS));
      if (attempt > 1) {
        logger.info(
          { database: target, attempts: attempt },
          `the database at ${target} is reachable (attempt ${attempt})`,
        );
      }
      return;
    } catch (error) {
      const found = classifyDatabaseError(error);
      if (found?.kind !== 'unavailable') throw connectError(error, address);
      const left = timeoutMs - (now() - started);
      if (left <= 0) {
        const waited = now() - started;
        throw new TaskerError(
          'TASKER_DATABASE_UNAVAILABLE',
          `the database at ${target} is not reachable (${found.reason})` +
            (attempt > 1 ? ` after ${attempt} attempts in ${seconds(waited)}` : '') +
            `: start it or correct database.url${
              timeoutMs > 0
                ? `; to wait longer, raise database.connectTimeoutMs (now ${timeoutMs} ms)`
                : '; to wait for it, set database.connectTimeoutMs'
            }`,
          { cause: error },
        );
      }
      const delay = Math.min(connectRetryDelayMs(attempt, options.random), left);
      logger.warn(
        { database: target, attempt, nextTryInMs: delay, reason: found.reason },
        `waiting for the database at ${target} (${found.reason}): attempt ${attempt} failed, next try in ${seconds(delay)}, giving up in ${seconds(left)}`,
      );
      await sleep(delay);
    }
  }
}

/** The error for a connection that waiting will not fix. */
function connectError(error: unknown, address: DatabaseAddress): TaskerError {
  const target = describeDatabase(address);
  const found = classifyDatabaseError(error);
  const said = error instanceof Error ? error.message : String(error);
  if (found?.kind === 'no-database') {
    const name = address.database || address.user;
    const createdb = [
      'createdb',
      ...(address.host.startsWith('/')
        ? ['-h', address.host]
        : ['-h', address.host, '-p', String(address.port)]),
      ...(address.user ? ['-U', address.user] : []),
      name,
    ].join(' ');
    return new TaskerError(
      'TASKER_DATABASE_UNAVAILABLE',
      `database "${name}" does not exist on ${address.host}:${address.port}: create it (${createdb}) or correct database.url`,
      { cause: error },
    );
  }
  if (found?.kind === 'credentials') {
    return new TaskerError(
      'TASKER_DATABASE_UNAVAILABLE',
      `the database at ${target} refused the connection (${said}): check the user and password in database.url` +
        (sqlState(error) === '28000' ? " and the server's pg_hba.conf" : ''),
      { cause: error },
    );
  }
  return new TaskerError('TASKER_DATABASE_UNAVAILABLE', `cannot use the database at ${target}: ${said}`, {
    cause: error,
  });
}
