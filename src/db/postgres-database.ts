/** The Database interface over a node-postgres pool, with a self-healing LISTEN connection. */
import pg from 'pg';
import { type Database, type Queryable, type QueryResult, quoteIdent } from './database.js';

export interface PostgresOptions {
  readonly connectionString: string;
  /**
   * Where the LISTEN connection goes, when it must bypass the pool's route: a pooler in transaction mode
   * hands each transaction to any server connection, so a LISTEN made through it is lost.
   * @defaultValue connectionString
   */
  readonly listenConnectionString?: string;
  /** Pool size. @defaultValue 10 */
  readonly maxConnections?: number;
  readonly applicationName?: string;
  /**
   * Longest time one new connection may take to open (a host that drops packets would otherwise hold a
   * request for minutes); then the query fails as "database unavailable". @defaultValue 10000
   */
  readonly connectionTimeoutMs?: number;
  /** Called with errors the pool or the listener meet in the background (they are retried). */
  readonly onBackgroundError?: (error: Error) => void;
}

// int8 (20) and int8[] (1016) as JS numbers: ids stay below 2^53 for any realistic table (PGlite parses
// them the same way). Per pool, never global.
const parseInt8Array = pg.types.getTypeParser(1016 as never) as (value: string) => unknown;
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (value: string) => Number(value);
    if (oid === 1016) {
      return (value: string) => {
        const parsed = parseInt8Array(value);
        return Array.isArray(parsed) ? parsed.map((v) => (v === null ? null : Number(v))) : parsed;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

function wrap<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}

export function createPostgresDatabase(options: PostgresOptions): Database {
  const maxConnections = options.maxConnections ?? 10;
  const clientConfig = {
    connectionString: options.connectionString,
    application_name: options.applicationName ?? 'tasker',
    types: typeParsers,
  };
  const connectionTimeoutMillis = options.connectionTimeoutMs ?? 10_000;
  // The timeout goes to each client, not to the pool: a pool-level timeout would also fail requests
  // waiting for a busy pool's free connection, which is load, not an outage.
  class TimedClient extends pg.Client {
    constructor() {
      super({ ...clientConfig, connectionTimeoutMillis });
    }
  }
  const pool = new pg.Pool({
    ...clientConfig,
    max: maxConnections,
    idleTimeoutMillis: 30_000,
    Client: TimedClient,
  });
  // Named apart so that operators can tell the long-lived listening session from pooled ones.
  const listenConfig = {
    ...clientConfig,
    connectionString: options.listenConnectionString ?? options.connectionString,
    application_name: `${clientConfig.application_name}:listen`,
    connectionTimeoutMillis,
  };
  const onBackgroundError = options.onBackgroundError ?? (() => {});
  // An idle client losing its connection emits on the pool; without a listener Node would crash.
  pool.on('error', (error) => {
    // pg-pool hangs the whole client on the error: logged as is, it would fill a screen.
    delete (error as { client?: unknown }).client;
    onBackgroundError(error);
  });

  let closed = false;
  const listeners = new Set<{ stop(): Promise<void> }>();

  return {
    kind: 'postgres',
    maxConnections,

    async query<Row>(text: string, params?: readonly unknown[]) {
      return wrap<Row>(await pool.query(text, params as unknown[]));
    },

    async exec(sql: string) {
      await pool.query(sql);
    },

    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client has no pool listener: its connection ending would otherwise crash the
      // process with an unhandled 'error' event. The running query is rejected with the error anyway.
      const onError = (error: Error) => {
        broken = true;
        onBackgroundError(error);
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          async query<Row>(text: string, params?: readonly unknown[]) {
            return wrap<Row>(await client.query(text, params as unknown[]));
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },

    async listen(channels, onNotification, onReconnect) {
      let client: pg.Client | null = null;
      let stopped = false;
      let retryTimer: NodeJS.Timeout | undefined;
      let attempt = 0;

      const connect = async (): Promise<void> => {
        const c = new pg.Client(listenConfig);
        c.on('notification', (msg) => {
          if (channels.includes(msg.channel)) onNotification(msg.channel, msg.payload ?? '');
        });
        c.on('error', (error) => {
          onBackgroundError(error);
          scheduleReconnect(c);
        });
        c.on('end', () => scheduleReconnect(c));
        await c.connect();
        for (const channel of channels) await c.query(`LISTEN ${quoteIdent(channel)}`);
        if (stopped) {
          await c.end().catch(() => {});
          return;
        }
        client = c;
        attempt = 0;
      };

      const scheduleReconnect = (failed: pg.Client) => {
        if (stopped || client !== failed || retryTimer) return;
        client = null;
        failed.removeAllListeners('end');
        failed.end().catch(() => {});
        const delay = Math.min(100 * 2 ** attempt++, 5_000);
        retryTimer = setTimeout(async () => {
          retryTimer = undefined;
          try {
            await connect();
            onReconnect?.();
          } catch (error) {
            onBackgroundError(error as Error);
            const placeholder = new pg.Client(listenConfig);
            client = placeholder;
            scheduleReconnect(placeholder);
          }
        }, delay);
        retryTimer.unref?.();
      };

      await connect();
      const handle = {
        async stop() {
          stopped = true;
          if (retryTimer) clearTimeout(retryTimer);
          const c = client;
          client = null;
          if (c) {
            c.removeAllListeners('end');
            await c.end().catch(() => {});
          }
          listeners.delete(handle);
        },
      };
      listeners.add(handle);
      return () => handle.stop();
    },

    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((l) => l.stop()));
      await pool.end();
    },
  };
}
