/**
 * The Database interface over embedded PGlite (PostgreSQL compiled to WebAssembly, in this process).
 * PGlite has one connection: queries and transactions are serialized by PGlite itself. Every statement
 * goes through a session gate, so that the same PGlite can also be served to other processes
 * (data-dir/socket-server.ts) without their statements landing inside this process's transactions.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { exportSchemaSql } from './data-dir/export-sql.js';
import { createSessionGate, type SessionGate } from './data-dir/session-gate.js';
import { type Database, type Queryable, type QueryResult, quoteIdent } from './database.js';
import type { DataDirSharing } from './describe-database.js';

export interface PgliteOptions {
  /** Directory for the data files; undefined keeps everything in memory. */
  readonly dataDir?: string | undefined;
}

/** An open PGlite with what the socket server needs besides the Database interface. */
export interface EmbeddedDatabase {
  readonly database: Database;
  readonly pglite: PGlite;
  readonly gate: SessionGate;
  /**
   * Delivers a notification to this process's listeners and to `onAnyNotification` subscribers (the
   * socket server reports the ones it finds in its connections' traffic here).
   */
  publish(channel: string, payload: string): void;
  /** Every notification, whoever caused it (the socket server relays them to its connections). */
  onAnyNotification(listener: (channel: string, payload: string) => void): () => void;
  /** Records how other processes reach this database (shown by describeDatabase). */
  setSharing(sharing: DataDirSharing): void;
  /** Runs before PGlite closes (the socket server stops there). */
  beforeClose(hook: () => Promise<void>): void;
}

export async function createPgliteDatabase(options: PgliteOptions = {}): Promise<Database> {
  return (await openEmbeddedDatabase(options)).database;
}

export async function openEmbeddedDatabase(options: PgliteOptions = {}): Promise<EmbeddedDatabase> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { 20: (value: string) => Number(value) },
  });
  const gate = createSessionGate();

  const run = async <Row>(
    q: Pick<PGlite, 'query'>,
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<Row>> => {
    const result = await q.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  let closed = false;
  let sharing: DataDirSharing | undefined;
  const closeHooks: Array<() => Promise<void>> = [];

  // Notifications: one LISTEN per channel on the session, dispatched here to this process's listeners
  // and to the socket server (PGlite reports those of this process's statements; the socket server
  // reports those it finds in other processes' traffic).
  const listeners = new Map<string, Set<(payload: string) => void>>();
  const anyListeners = new Set<(channel: string, payload: string) => void>();
  const listening = new Set<string>();
  const publish = (channel: string, payload: string) => {
    gate.outside(() => {
      for (const listener of listeners.get(channel) ?? []) queueMicrotask(() => listener(payload));
      for (const listener of anyListeners) listener(channel, payload);
    });
  };
  db.onNotification(publish);

  const database: Database = {
    kind: 'pglite',
    maxConnections: 1,
    get sharing() {
      return sharing;
    },
    query: (text, params) => gate.local(() => run(db, text, params)),
    exec: (sql) => gate.local(async () => void (await db.exec(sql))),
    transaction(fn) {
      return gate.local(() =>
        db.transaction((tx) =>
          fn({
            query: (text, params) => run(tx, text, params),
            async exec(sql) {
              await tx.exec(sql);
            },
          } satisfies Queryable),
        ),
      );
    },
    async listen(channels, onNotification) {
      const subscriptions = channels.map((channel) => ({
        channel,
        callback: (payload: string) => onNotification(channel, payload),
      }));
      for (const s of subscriptions) {
        // PGlite lowercases unquoted channel names, so ours are quoted.
        if (!listening.has(s.channel)) {
          await database.exec(`LISTEN ${quoteIdent(s.channel)}`);
          listening.add(s.channel);
        }
        let set = listeners.get(s.channel);
        if (!set) {
          set = new Set();
          listeners.set(s.channel, set);
        }
        set.add(s.callback);
      }
      // The session keeps listening (other processes' connections may listen to the same channels);
      // unsubscribing only stops the delivery here.
      return async () => {
        for (const s of subscriptions) listeners.get(s.channel)?.delete(s.callback);
      };
    },
    exportSchema: (schema) => exportSchemaSql(db, gate, schema),
    poolStats() {
      return { total: 1, idle: 1, waiting: 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const hook of closeHooks.splice(0)) await hook();
      await db.close();
    },
  };

  return {
    database,
    pglite: db,
    gate,
    publish,
    onAnyNotification(listener) {
      anyListeners.add(listener);
      return () => anyListeners.delete(listener);
    },
    setSharing(value) {
      sharing = value;
    },
    beforeClose(hook) {
      closeHooks.push(hook);
    },
  };
}
