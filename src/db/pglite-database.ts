/**
 * The Database interface over embedded PGlite (PostgreSQL compiled to WebAssembly, in this process).
 * PGlite has one connection: queries and transactions are serialized by PGlite itself.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { type Database, type Queryable, type QueryResult, quoteIdent } from './database.js';

export interface PgliteOptions {
  /** Directory for the data files; undefined keeps everything in memory. */
  readonly dataDir?: string | undefined;
}

export async function createPgliteDatabase(options: PgliteOptions = {}): Promise<Database> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { 20: (value: string) => Number(value) },
  });

  const run = async <Row>(
    q: Pick<PGlite, 'query'>,
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<Row>> => {
    const result = await q.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  let closed = false;

  return {
    kind: 'pglite',
    maxConnections: 1,
    query: (text, params) => run(db, text, params),
    async exec(sql) {
      await db.exec(sql);
    },
    transaction(fn) {
      return db.transaction((tx) =>
        fn({
          query: (text, params) => run(tx, text, params),
          async exec(sql) {
            await tx.exec(sql);
          },
        } satisfies Queryable),
      );
    },
    async listen(channels, onNotification) {
      // PGlite lowercases unquoted channel names, so ours are quoted. The function its listen() returns
      // unlistens without the quotes (a syntax error for names like "tasker:ready"), so unlisten by hand.
      const subscriptions = channels.map((channel) => ({
        quoted: quoteIdent(channel),
        callback: (payload: string) => onNotification(channel, payload),
      }));
      for (const s of subscriptions) await db.listen(s.quoted, s.callback);
      return async () => {
        if (closed) return;
        for (const s of subscriptions) await db.unlisten(s.quoted, s.callback);
      };
    },
    poolStats() {
      return { total: 1, idle: 1, waiting: 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
