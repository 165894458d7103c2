/**
 * The pure parts of "the database is not there": the one table that classifies database errors, the
 * retry delays of the start-up wait, connection URLs (checked, described without the password), the
 * connect-timeout option, and the API's answer (503 + Retry-After).
 */
import { describe, expect, test } from 'vitest';
import { toProblem } from '../../src/api/problems.js';
import { loadConfig } from '../../src/config/load-config.js';
import { resolveConfig } from '../../src/config/options.js';
import { describeDatabase, parseDatabaseUrl } from '../../src/db/database-url.js';
import {
  classifyDatabaseError,
  isDatabaseUnavailable,
  isTransientDatabaseError,
  translateDatabaseError,
} from '../../src/db/sql-errors.js';
import { connectRetryDelayMs } from '../../src/db/wait-for-database.js';
import { isTaskerError, type TaskerError } from '../../src/errors.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifying database errors', () => {
  test.each([
    ['ECONNREFUSED', 'unavailable', 'connection refused'],
    ['ECONNRESET', 'unavailable', 'the connection was reset'],
    ['ETIMEDOUT', 'unavailable', 'timed out'],
    ['ENOTFOUND', 'unavailable', 'host name not found'],
    ['57P01', 'unavailable', 'the server terminated the connection (admin shutdown)'],
    ['57P03', 'unavailable', 'the database system is starting up or shutting down'],
    ['53300', 'unavailable', 'too many connections'],
    ['08006', 'unavailable', 'the connection failed'],
    ['40001', 'conflict', 'serialization failure'],
    ['40P01', 'conflict', 'deadlock detected'],
    ['28P01', 'credentials', 'password authentication failed'],
    ['28000', 'credentials', 'the server does not accept this user from this host'],
    ['3D000', 'no-database', 'the database does not exist'],
  ])('%s is %s (%s)', (code, kind, reason) => {
    expect(classifyDatabaseError(coded(code))).toMatchObject({ kind, reason });
  });

  test("node-postgres's uncoded connection errors, and a name with several addresses", () => {
    expect(classifyDatabaseError(new Error('Connection terminated unexpectedly'))?.kind).toBe('unavailable');
    expect(classifyDatabaseError(new Error('timeout exceeded when trying to connect'))).toMatchObject({
      kind: 'unavailable',
      reason: 'timed out',
    });
    const both = Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), {});
    expect(classifyDatabaseError(both)?.reason).toBe('connection refused');
  });

  test('what the table does not know stays unknown, and another library is not guessed from its message', () => {
    expect(classifyDatabaseError(new Error('syntax error at or near "SELEC"'))).toBeNull();
    expect(classifyDatabaseError(coded('42601'))).toBeNull();
    expect(classifyDatabaseError(coded('FST_ERR_X', 'the connection was closed'))).toBeNull();
    expect(classifyDatabaseError(null)).toBeNull();
    expect(isTransientDatabaseError(coded('23505'))).toBe(false);
    expect(isTransientDatabaseError(coded('40P01'))).toBe(true);
    expect(isDatabaseUnavailable(coded('40P01'))).toBe(false);
  });

  test('translation: unavailable becomes TASKER_DATABASE_UNAVAILABLE without host or user; the engine codes theirs', () => {
    const refused = coded('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:5432');
    const translated = translateDatabaseError(refused);
    expect(isTaskerError(translated, 'TASKER_DATABASE_UNAVAILABLE')).toBe(true);
    expect((translated as TaskerError).message).toBe(
      'the database is unavailable (connection refused); try again shortly',
    );
    expect((translated as TaskerError).cause).toBe(refused);
    expect(isDatabaseUnavailable(translated)).toBe(true);
    expect(
      isTaskerError(translateDatabaseError(coded('TKNF1', 'task 9 does not exist')), 'TASKER_TASK_NOT_FOUND'),
    ).toBe(true);
    const deadlock = coded('40P01');
    expect(translateDatabaseError(deadlock)).toBe(deadlock);
    const plain = new Error('a bug');
    expect(translateDatabaseError(plain)).toBe(plain);
  });

  test('the API answers 503 with Retry-After, for a raw error as for a translated one', () => {
    for (const error of [
      coded('57P01', 'terminating connection due to administrator command'),
      translateDatabaseError(coded('ECONNREFUSED')),
    ]) {
      const { body, headers } = toProblem(error);
      expect(body).toMatchObject({
        status: 503,
        code: 'TASKER_DATABASE_UNAVAILABLE',
        title: 'Service Unavailable',
      });
      expect(headers).toEqual({ 'Retry-After': '5' });
    }
    expect(toProblem(new Error('a bug')).body).toMatchObject({ status: 500, code: 'TASKER_INTERNAL_ERROR' });
  });
});

describe('the start-up wait', () => {
  test('retry delays double from about 250 ms to at most 5 s, with jitter between half and all', () => {
    expect(connectRetryDelayMs(1, () => 0)).toBe(125);
    expect(connectRetryDelayMs(1, () => 1)).toBe(250);
    expect(connectRetryDelayMs(2, () => 1)).toBe(500);
    expect(connectRetryDelayMs(5, () => 1)).toBe(4000);
    expect(connectRetryDelayMs(6, () => 1)).toBe(5000);
    expect(connectRetryDelayMs(40, () => 1)).toBe(5000);
    expect(connectRetryDelayMs(40, () => 0)).toBe(2500);
    for (let attempt = 1; attempt < 30; attempt++) {
      const delay = connectRetryDelayMs(attempt);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(5000);
    }
  });

  test('database.connectTimeoutMs: default 30 s, from the environment, checked', async () => {
    expect(resolveConfig({}, {}).database.connectTimeoutMs).toBe(30_000);
    expect(resolveConfig({ database: { connectTimeoutMs: 0 } }, {}).database.connectTimeoutMs).toBe(0);
    expect(() => resolveConfig({ database: { connectTimeoutMs: -1 } }, {})).toThrow(/connectTimeoutMs/);
    const loaded = await loadConfig({
      cwd: '/nonexistent-dir-for-test',
      env: { TASKER_DATABASE_CONNECT_TIMEOUT_MS: '5000', DATABASE_URL: 'postgres://u@db:5432/app' },
    });
    expect(loaded.database.connectTimeoutMs).toBe(5000);
    expect(loaded.taskerOptions.database?.connectTimeoutMs).toBe(5000);
  });
});

describe('connection URLs', () => {
  test('described as host:port/db, never with the password', () => {
    const address = parseDatabaseUrl('postgres://ada:s%40cret@db.internal:6543/orders?sslmode=disable');
    expect(address).toEqual({ host: 'db.internal', port: 6543, database: 'orders', user: 'ada' });
    expect(describeDatabase(address)).toBe('db.internal:6543/orders');
    expect(describeDatabase(parseDatabaseUrl('postgresql://ada@localhost'))).toBe('localhost:5432/ada');
    expect(describeDatabase(parseDatabaseUrl('postgres:///app?host=/var/run/postgresql'))).toBe(
      '/var/run/postgresql:5432/app',
    );
  });

  test.each([
    ['localhost:5432/app', /expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ['not a url', /not a valid URL/],
    ['mysql://u@h/db', /expected a postgres:\/\//],
    ['postgres://u:p#w@host/db', /percent-encode special characters in the password \(# as %23\)/],
    ['postgres://u@host:99999/db', /not a valid URL/],
  ])('%s is refused', (url, message) => {
    expect(() => parseDatabaseUrl(url)).toThrow(message);
    try {
      parseDatabaseUrl(url);
    } catch (error) {
      expect((error as Error).message).not.toContain(url);
    }
  });

  test('a malformed URL is a configuration problem naming where it came from', () => {
    try {
      resolveConfig({}, { DATABASE_URL: 'localhost:5432/app' });
      throw new Error('expected failure');
    } catch (error) {
      expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
      expect((error as TaskerError).details).toEqual([
        {
          path: 'DATABASE_URL',
          message:
            'invalid database URL: expected a postgres:// or postgresql:// URL such as postgres://user:password@host:5432/database',
        },
      ]);
    }
    expect(() => resolveConfig({ database: { url: 'x' } }, {})).toThrow(
      /database\.url: invalid database URL/,
    );
  });
});
