/**
 * The one interface the engine needs from a database, small enough that a node-postgres pool and an
 * embedded PGlite both fit it. Queries are parameterized; `int8` values arrive as JS numbers.
 */
import type { DataDirSharing } from './describe-database.js';

export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** An embedded data directory: whether this process owns it or reaches it through its owner. */
  readonly sharing?: DataDirSharing | undefined;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotification` for every NOTIFY on the channels until the returned function is called. On a
   * server, one connection listens and reconnects by itself; `onReconnect` runs after each reconnection
   * (a moment in which notifications may have been missed).
   */
  listen(
    channels: readonly string[],
    onNotification: (channel: string, payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Embedded databases only: the schema as SQL for a PostgreSQL server (`tasker db export`), with its
   * rows, sequences and functions.
   */
  exportSchema?(schema: string): Promise<string>;
  /** Connections the engine may use at once (the pool's size; 1 for PGlite). */
  readonly maxConnections: number;
  /** Pool use, for health and metrics. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** Quotes an SQL identifier (schema names are configurable, so they are quoted everywhere). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal (only for values fixed at start-up, such as channel names). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
