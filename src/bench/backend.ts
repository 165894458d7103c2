/**
 * Where a benchmark run happens: a real PostgreSQL server (a fresh schema per run, dropped afterwards)
 * or embedded PGlite in memory (one instance for the whole bench, a fresh schema per run). Each run gets
 * two connections: the engine's (counted, see counting-database.ts) and an admin one for the harness's
 * own polling and statistics, which is not counted.
 */
import { randomBytes } from 'node:crypto';
import { type Database, quoteIdent, quoteLiteral } from '../db/database.js';
import { createPgliteDatabase } from '../db/pglite-database.js';
import { createPostgresDatabase } from '../db/postgres-database.js';
import { createTasker, type Tasker, type TaskerOptions } from '../index.js';
import { type CountingDatabase, countingDatabase } from './counting-database.js';

export type BackendName = 'pg' | 'pglite';

export interface BackendSettings {
  readonly databaseUrl: string;
  /** The engine's pool size on PostgreSQL. */
  readonly poolSize: number;
}

/** Rows written to a schema's tables (pg_stat_user_tables counters). */
export interface RowCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly byTable: Readonly<Record<string, { inserted: number; updated: number; deleted: number }>>;
}

export interface RunEnv {
  readonly backend: BackendName;
  readonly schema: string;
  /** Harness-only connection (polling, statistics); not counted. */
  readonly admin: Database;
  /** The engine's connection, counting round trips. */
  readonly engineDb: CountingDatabase;
  /** A Tasker on this run's schema and the counted connection. */
  openTasker(options?: TaskerOptions): Promise<Tasker>;
  /**
   * Closes the engine's connection (PostgreSQL backends report their row counters when they end) and
   * returns the schema's row counters once they are settled.
   */
  closeEngineAndReadRows(): Promise<RowCounts>;
  /** Reads the schema's row counters now (see rowCounts for when they are complete). */
  readRows(): Promise<RowCounts>;
  /** Closes everything; drops the schema unless it is kept. */
  dispose(): Promise<void>;
}

export interface BenchBackend {
  readonly name: BackendName;
  /** Opens a run: a fresh schema, or `schema` when given (kept afterwards if `keepSchema`). */
  openRun(options?: { schema?: string; keepSchema?: boolean }): Promise<RunEnv>;
  /** Drops a kept schema. */
  dropSchema(schema: string): Promise<void>;
  close(): Promise<void>;
}

export function benchSchemaName(prefix: string): string {
  return `bench_${prefix}_${randomBytes(4).toString('hex')}`;
}

async function readRowCounts(db: Database, schema: string): Promise<RowCounts> {
  const { rows } = await db.query<{ relname: string; ins: number; upd: number; del: number }>(
    `SELECT relname, n_tup_ins::int8 AS ins, n_tup_upd::int8 AS upd, n_tup_del::int8 AS del
       FROM pg_stat_user_tables WHERE schemaname = ${quoteLiteral(schema)}`,
  );
  const byTable: Record<string, { inserted: number; updated: number; deleted: number }> = {};
  let inserted = 0;
  let updated = 0;
  let deleted = 0;
  for (const r of rows) {
    byTable[r.relname] = { inserted: Number(r.ins), updated: Number(r.upd), deleted: Number(r.del) };
    inserted += Number(r.ins);
    updated += Number(r.upd);
    deleted += Number(r.del);
  }
  return { inserted, updated, deleted, byTable };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function taskerFor(engineDb: Database, schema: string, poolSize: number) {
  return (options: TaskerOptions = {}) =>
    createTasker(
      {
        ...options,
        database: { schema, maxConnections: poolSize, ...(options.database ?? {}) },
      },
      { database: engineDb },
    );
}

export function postgresBackend(settings: BackendSettings): BenchBackend {
  const admin = createPostgresDatabase({
    connectionString: settings.databaseUrl,
    maxConnections: 2,
    applicationName: 'tasker-bench-admin',
  });
  return {
    name: 'pg',
    async openRun(options = {}) {
      const schema = options.schema ?? benchSchemaName('pg');
      let engineOpen = true;
      const engineDb = countingDatabase(
        createPostgresDatabase({
          connectionString: settings.databaseUrl,
          maxConnections: settings.poolSize,
          // Names this run's connections, so the harness can tell when they have all ended.
          applicationName: `tasker-bench ${schema}`.slice(0, 63),
        }),
      );
      const readRows = async () => {
        // Stats snapshots are per transaction; a fresh statement sees the latest flushed counters.
        await admin.query('SELECT pg_stat_clear_snapshot()');
        return readRowCounts(admin, schema);
      };
      return {
        backend: 'pg',
        schema,
        admin,
        engineDb,
        openTasker: taskerFor(engineDb, schema, settings.poolSize),
        readRows,
        async closeEngineAndReadRows() {
          if (engineOpen) {
            engineOpen = false;
            await engineDb.close();
          }
          // Ending backends flush their counters as they exit (before they leave pg_stat_activity), a
          // moment after the sockets close: wait until this run's connections are gone.
          for (let i = 0; i < 100; i++) {
            const { rows } = await admin.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
              [`tasker-bench ${schema}`.slice(0, 63)],
            );
            if (rows[0]?.n === 0) break;
            await admin.query('SELECT pg_stat_clear_snapshot()');
            await sleep(50);
          }
          return readRows();
        },
        async dispose() {
          if (engineOpen) {
            engineOpen = false;
            await engineDb.close();
          }
          if (!options.keepSchema) await admin.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        },
      };
    },
    async dropSchema(schema) {
      await admin.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    },
    close: () => admin.close(),
  };
}

/** The backend called `name`: PostgreSQL at `settings`, or a PGlite instance of its own. */
export function openBackend(name: BackendName, settings: BackendSettings): BenchBackend {
  return name === 'pg' ? postgresBackend(settings) : pgliteBackend();
}

export function pgliteBackend(): BenchBackend {
  let instance: Promise<Database> | null = null;
  const get = () => {
    instance ??= createPgliteDatabase();
    return instance;
  };
  return {
    name: 'pglite',
    async openRun(options = {}) {
      const db = await get();
      const schema = options.schema ?? benchSchemaName('pglite');
      const engineDb = countingDatabase(db, { closeInner: false });
      const readRows = async () => {
        // One backend does everything: make it flush its own pending counters, then read them.
        await db.query('SELECT pg_stat_force_next_flush()');
        await db.query('SELECT 1');
        await db.query('SELECT pg_stat_clear_snapshot()');
        return readRowCounts(db, schema);
      };
      return {
        backend: 'pglite',
        schema,
        admin: db,
        engineDb,
        openTasker: taskerFor(engineDb, schema, 1),
        readRows,
        closeEngineAndReadRows: readRows,
        async dispose() {
          if (!options.keepSchema) await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        },
      };
    },
    async dropSchema(schema) {
      const db = await get();
      await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    },
    async close() {
      if (instance) await (await instance).close();
      instance = null;
    },
  };
}
