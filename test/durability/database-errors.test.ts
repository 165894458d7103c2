/**
 * The ways a real PostgreSQL can be unavailable, each met for real: down at start and up later (createTasker
 * waits, one log line per try), full (too many connections: waited for, then given up with that reason),
 * shut down under a request (admin shutdown: 503 with Retry-After), and a host that never answers (the
 * connection attempt times out). The outages are a TCP stand-in in front of the shared server, a role of
 * our own with no connections allowed, and pg_terminate_backend on this test's own connections.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { classifyDatabaseError } from '../../src/db/sql-errors.js';
import { createTasker, isTaskerError, type Logger } from '../../src/index.js';
import { PG_URL, testTasker } from '../helpers.js';
import { type DatabaseProxy, startDatabaseProxy } from './database-proxy.js';

const describePg = PG_URL ? describe : describe.skip;

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let proxy: DatabaseProxy | null = null;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await proxy?.close();
  proxy = null;
});

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!check()) throw new Error(`gave up waiting for ${what}`);
}

describePg('an unavailable PostgreSQL, for real', () => {
  test('createTasker waits for a database that comes later, one warning per try', async () => {
    proxy = await startDatabaseProxy(PG_URL!);
    const url = new URL(proxy.urlFor(PG_URL!));
    url.password = 'not-for-logs';
    const schema = `wait-${randomBytes(4).toString('hex')} x`;
    const logger = recordingLogger();
    const starting = createTasker({
      database: { url: url.toString(), schema, connectTimeoutMs: 120_000 },
      logger,
    });
    await until('two tries', () => logger.lines.filter((l) => l.level === 'warn').length >= 2);
    await proxy.up();
    const tasker = await starting;
    cleanups.push(async () => {
      await tasker.close();
      const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
      await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await db.close();
    });
    expect((await tasker.database.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    const warnings = logger.lines.filter((l) => l.level === 'warn');
    warnings.forEach((w, i) => {
      expect(w.obj).toMatchObject({
        database: `127.0.0.1:${proxy!.port}/${new URL(PG_URL!).pathname.slice(1)}`,
        attempt: i + 1,
        reason: 'connection refused',
      });
      const next = (w.obj as { nextTryInMs: number }).nextTryInMs;
      expect(next).toBeGreaterThan(0);
      expect(next).toBeLessThanOrEqual(5000);
      expect(w.msg).toMatch(
        /^waiting for the database at 127\.0\.0\.1:\d+\/\S+ \(connection refused\): attempt \d+ failed, next try in [\d.]+ s, giving up in [\d.]+ s$/,
      );
    });
    expect(
      logger.lines.some((l) => l.level === 'info' && /is reachable \(attempt \d+\)/.test(l.msg ?? '')),
    ).toBe(true);
    expect(JSON.stringify(logger.lines)).not.toContain('not-for-logs');
  });

  test('too many connections is waited for, then given up with that reason', async () => {
    const admin = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    const role = `tasker_full_${randomBytes(4).toString('hex')}`;
    await admin.exec(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`);
    cleanups.push(async () => {
      await admin.exec(`DROP ROLE IF EXISTS ${role}`);
      await admin.close();
    });
    const url = new URL(PG_URL!);
    url.username = role;
    const logger = recordingLogger();
    const error = await createTasker({
      database: { url: url.toString(), schema: 'never_created', connectTimeoutMs: 1500 },
      logger,
    }).catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_DATABASE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/is not reachable \(too many connections\) after \d+ attempts/);
    expect(logger.lines.filter((l) => l.level === 'warn').length).toBeGreaterThanOrEqual(1);
    expect(logger.lines[0]?.obj).toMatchObject({ attempt: 1, reason: 'too many connections' });
  });

  test('an admin shutdown under a request answers 503 TASKER_DATABASE_UNAVAILABLE with Retry-After', async () => {
    const appName = `tasker-shut-${randomBytes(4).toString('hex')}`;
    const url = new URL(PG_URL!);
    url.searchParams.set('application_name', appName);
    const { tasker, schema, db } = await testTasker('postgres', {
      database: { url: url.toString() },
      telemetry: { log: { level: 'fatal' } },
    });
    const app = await createApiServer({ tasker });
    cleanups.push(() => app.close());
    // Hold the tasks table so the request's query waits inside the server, then end that backend.
    let request: Promise<{
      statusCode: number;
      body: string;
      headers: Record<string, unknown>;
      json(): unknown;
    }> | null = null;
    await db.transaction(async (tx) => {
      await tx.query(`LOCK TABLE ${quoteIdent(schema)}.tasks IN ACCESS EXCLUSIVE MODE`);
      request = Promise.resolve(app.inject({ method: 'GET', url: '/tasker/tasks' }));
      let terminated = 0;
      for (let i = 0; i < 200 && terminated === 0; i++) {
        const { rows } = await tx.query<{ n: number }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::integer AS n
           FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [appName],
        );
        terminated = rows[0]!.n;
        if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(terminated).toBe(1);
    });
    const res = await request!;
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({
      code: 'TASKER_DATABASE_UNAVAILABLE',
      detail:
        'the database is unavailable (the server terminated the connection (admin shutdown)); try again shortly',
    });
    // The pool replaces the connection: the next request is answered.
    expect((await app.inject({ method: 'GET', url: '/tasker/tasks' })).statusCode).toBe(200);
  });

  test('a host that never answers: the connection attempt times out as "unavailable"', async () => {
    proxy = await startDatabaseProxy(PG_URL!);
    await proxy.blackhole();
    const db = createPostgresDatabase({
      connectionString: proxy.urlFor(PG_URL!),
      maxConnections: 1,
      connectionTimeoutMs: 300,
    });
    cleanups.push(() => db.close());
    const error = await db.query('SELECT 1').catch((e: unknown) => e);
    expect(classifyDatabaseError(error), String(error)).toMatchObject({
      kind: 'unavailable',
      reason: 'timed out',
    });

    const failed = await createTasker({
      database: { url: proxy.urlFor(PG_URL!), schema: 'never_created', connectTimeoutMs: 0 },
      logger: recordingLogger(),
    }).catch((e: unknown) => e);
    expect(isTaskerError(failed, 'TASKER_DATABASE_UNAVAILABLE'), String(failed)).toBe(true);
    expect((failed as Error).message).toContain('is not reachable (timed out)');
  });
});
