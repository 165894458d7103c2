/**
 * Test isolation: every test gets its own Tasker in its own schema. On PostgreSQL (switched on by
 * TASKER_TEST_DATABASE_URL, as .ci/run does) the schema is created in the shared test database and
 * dropped afterwards; on PGlite one in-memory database per test file (start-up takes seconds) holds a
 * schema per test.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Database } from '../src/db/database.js';
import { quoteIdent } from '../src/db/database.js';
import { createPgliteDatabase } from '../src/db/pglite-database.js';
import { createPostgresDatabase } from '../src/db/postgres-database.js';
import { createSqlContext, type SqlContext } from '../src/engine/sql/sql-context.js';
import { registerWorker } from '../src/engine/sql/worker-queries.js';
import { createTasker, type Tasker, type TaskerOptions } from '../src/index.js';

export type Backend = 'postgres' | 'pglite';

export const PG_URL = process.env.TASKER_TEST_DATABASE_URL;

/** The backends to run against: PGlite always, PostgreSQL when TASKER_TEST_DATABASE_URL is set. */
export const BACKENDS: Backend[] = PG_URL ? ['postgres', 'pglite'] : ['pglite'];

/** A schema name unique to this test; the odd characters catch quoting bugs. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')} x`;
}

let sharedPglite: Promise<Database> | null = null;
const cleanups: Array<() => Promise<void>> = [];

// Start this file's PGlite in a hook (hookTimeout) rather than inside its first test: on a loaded
// machine its start-up alone can exceed a test's time budget.
beforeAll(async () => {
  await pgliteForFile();
});

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

afterAll(async () => {
  if (sharedPglite) {
    const db = await sharedPglite;
    sharedPglite = null;
    await db.close();
  }
});

// PGlite takes seconds to start, much more on a busy machine: start it before the first test's time
// limit runs rather than inside it.
beforeAll(async () => {
  await pgliteForFile();
}, 180_000);

/** The in-memory PGlite database shared by this file's tests. */
export function pgliteForFile(): Promise<Database> {
  sharedPglite ??= createPgliteDatabase();
  return sharedPglite;
}

export interface TestTasker {
  readonly tasker: Tasker;
  readonly schema: string;
  /** A second connection to the same database (for looking at tables directly). */
  readonly db: Database;
}

/** A Tasker on a fresh schema; closed (and its schema dropped) after the test. */
export async function testTasker(backend: Backend, options: TaskerOptions = {}): Promise<TestTasker> {
  const schema = uniqueSchema();
  const execution = { pollIntervalMs: 200, shutdownTimeoutMs: 2000, ...(options.execution ?? {}) };
  const backoff = { scheduleMs: [50, 100, 200], maxMs: 2000, jitterRatio: 0, ...(options.backoff ?? {}) };
  if (backend === 'postgres') {
    if (!PG_URL) throw new Error('TASKER_TEST_DATABASE_URL is not set');
    const tasker = await createTasker({
      ...options,
      execution,
      backoff,
      database: { url: PG_URL, schema, maxConnections: 4, ...(options.database ?? {}) },
    });
    const db = createPostgresDatabase({ connectionString: PG_URL, maxConnections: 2 });
    cleanups.push(async () => {
      await tasker.close();
      await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await db.close();
    });
    return { tasker, schema, db };
  }
  const db = await pgliteForFile();
  const tasker = await createTasker(
    { ...options, execution, backoff, database: { schema, ...(options.database ?? {}) } },
    { database: db },
  );
  cleanups.push(async () => {
    await tasker.close();
    await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  });
  return { tasker, schema, db };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A worker registered in a test Tasker's schema with nobody running it, for tests that play the dispatch
 * functions (claimSteps, finishSteps) themselves.
 */
export async function playedWorker(
  t: TestTasker,
  concurrency = 1,
): Promise<{ readonly sql: SqlContext; readonly workerId: string }> {
  const sql = createSqlContext(t.db, t.schema);
  const workerId = randomUUID();
  await registerWorker(sql, {
    id: workerId,
    name: 'test',
    hostname: 'localhost',
    pid: process.pid,
    concurrency,
    namespaces: null,
    leaseMs: 60_000,
  });
  return { sql, workerId };
}
