/**
 * Opening an embedded data directory so that no two processes ever run their own copy of it. The first
 * process opens PGlite, records itself as the owner (owner-record.ts) and serves the database on a Unix
 * socket in the directory (socket-server.ts); every other process finds the record and connects to that
 * socket as a PostgreSQL client. An owner that died (its pid is gone) is replaced by the next process,
 * which opens the directory with everything in it. Where the owner cannot be reached (it runs on another
 * machine, or it could not serve), the process refuses with an error naming the owner.
 *
 * A client whose owner goes away gets TASKER_DATABASE_UNAVAILABLE for the statements in flight; in the
 * background it finds the next owner or becomes the owner itself, so a long-running worker carries on.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { TaskerError } from '../../errors.js';
import type { Database } from '../database.js';
import type { DataDirSharing } from '../describe-database.js';
import { openEmbeddedDatabase } from '../pglite-database.js';
import { createPostgresDatabase } from '../postgres-database.js';
import { isTransientDatabaseError, sqlState } from '../sql-errors.js';
import {
  claimGeneration,
  listGenerations,
  newRecord,
  type OwnerRecord,
  ownerLiveness,
  readRecord,
  removeOlderRecords,
  updateRecord,
} from './owner-record.js';
import { startSocketServer } from './socket-server.js';
import { exportCommand } from './wire-protocol.js';

export interface OpenDataDirOptions {
  readonly dataDir: string;
  /** Serve the database to other processes when this one owns it. @defaultValue true */
  readonly serve?: boolean;
  /** Pool size when this process is a client of the owner. @defaultValue 4 */
  readonly clientConnections?: number;
  /**
   * How long to wait for an owner that is starting (creating a new data directory takes long on a busy
   * machine) or stopping, before refusing. @defaultValue 120000
   */
  readonly waitMs?: number;
  readonly onBackgroundError?: (error: Error) => void;
}

/** Unix sockets have a short path limit (104 bytes on macOS): a deep data dir gets one in the temp dir. */
const MAX_SOCKET_PATH = 100;
const SOCKET_NAME = '.s.PGSQL.5432';

function socketPathFor(dir: string): string {
  const inDir = join(dir, SOCKET_NAME);
  if (inDir.length <= MAX_SOCKET_PATH) return inDir;
  return join(mkdtempSync(join(tmpdir(), 'tasker-')), SOCKET_NAME);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describeOwner(record: OwnerRecord): string {
  return `pid ${record.pid} (${record.command}${record.hostname ? ` on ${record.hostname}` : ''}, since ${record.startedAt})`;
}

function inUse(dir: string, record: OwnerRecord, why: string, what: string): TaskerError {
  return new TaskerError(
    'TASKER_DATA_DIR_IN_USE',
    `the embedded database in ${dir} is in use by ${describeOwner(record)}: ${why}. ${what}`,
  );
}

/** A connection problem (as opposed to a statement the database refused, which has a severity below FATAL). */
function isConnectionError(error: unknown): boolean {
  if (sqlState(error) === 'ENOENT') return true; // the socket is gone
  const severity = (error as { severity?: unknown } | null)?.severity;
  return isTransientDatabaseError(error) && (severity === undefined || severity === 'FATAL');
}

type Opened = { readonly db: Database; readonly owner: OwnerRecord | null };

/** Finds the owner of the directory, or becomes it. */
async function openOnce(options: OpenDataDirOptions, dir: string): Promise<Opened> {
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  let lastRefusal: unknown = null;
  for (;;) {
    const [top] = listGenerations(dir);
    const record = top === undefined ? null : readRecord(dir, top);
    if (top !== undefined && record === null) continue; // removed between listing and reading
    const liveness = record && record !== 'unreadable' ? ownerLiveness(record) : 'dead';
    if (record === null || record === 'unreadable' || record.state === 'closed' || liveness === 'dead') {
      const mine = newRecord((top ?? 0) + 1);
      if (claimGeneration(dir, mine)) return { db: await becomeOwner(options, dir, mine), owner: null };
      continue; // another process took this generation first: look at it
    }
    if (liveness === 'unknown') {
      throw inUse(
        dir,
        record,
        `it runs on another machine (${record.hostname}), and the embedded database can only be shared on one machine`,
        'Use PostgreSQL (DATABASE_URL) to share a database between machines, or stop that process.',
      );
    }
    if (record.state === 'exclusive') {
      throw inUse(
        dir,
        record,
        `it cannot share the database (${record.reason ?? 'not served'})`,
        `Stop it first (kill ${record.pid}), or use PostgreSQL (DATABASE_URL) for several processes.`,
      );
    }
    if (record.state === 'serving' && record.socket) {
      try {
        return { db: await connectClient(options, record), owner: record };
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        lastRefusal = error; // stopping, or about to say so in its record: look again
      }
    }
    if (Date.now() > deadline) {
      throw inUse(
        dir,
        record,
        record.state === 'starting'
          ? 'it has been starting for too long'
          : `it does not answer on ${record.socket} (${(lastRefusal as Error | null)?.message ?? 'no answer'})`,
        `If it is hung, stop it (kill ${record.pid}); the next tasker process takes the directory over with all its data.`,
      );
    }
    await sleep(100);
  }
}

async function connectClient(options: OpenDataDirOptions, record: OwnerRecord): Promise<Database> {
  const db = createPostgresDatabase({
    connectionString: `postgresql://postgres@/postgres?host=${encodeURIComponent(dirname(record.socket!))}`,
    maxConnections: options.clientConnections ?? 4,
    applicationName: 'tasker',
    onBackgroundError: options.onBackgroundError ?? (() => {}),
  });
  try {
    await db.query('SELECT 1');
    return db;
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

async function becomeOwner(options: OpenDataDirOptions, dir: string, record: OwnerRecord): Promise<Database> {
  let current = record;
  let embedded: Awaited<ReturnType<typeof openEmbeddedDatabase>>;
  try {
    embedded = await openEmbeddedDatabase({ dataDir: dir });
  } catch (error) {
    updateRecord(dir, { ...current, state: 'closed' });
    throw error;
  }
  removeOlderRecords(dir, record.generation);
  let sharing: DataDirSharing = { role: 'owner', socket: null };
  if (options.serve ?? true) {
    const path = socketPathFor(dir);
    try {
      const server = await startSocketServer(embedded, path, options.onBackgroundError);
      embedded.beforeClose(async () => {
        await server.close();
        // A socket of its own in the temp dir (a deep data dir): remove that dir too.
        if (dirname(path) !== dir) rmSync(dirname(path), { recursive: true, force: true });
      });
      current = { ...current, state: 'serving', socket: path };
      sharing = { role: 'owner', socket: path };
    } catch (error) {
      current = {
        ...current,
        state: 'exclusive',
        reason: `cannot serve on ${path}: ${(error as Error).message}`,
      };
    }
  } else {
    current = { ...current, state: 'exclusive', reason: 'opened without sharing' };
  }
  updateRecord(dir, current);
  embedded.setSharing(sharing);
  const database = embedded.database;
  const close = database.close.bind(database);
  let closed = false;
  return Object.assign(database, {
    async close() {
      if (closed) return;
      closed = true;
      try {
        await close();
      } finally {
        // Only once PGlite has written everything may the next process open the directory.
        updateRecord(dir, { ...current, state: 'closed' });
      }
    },
  });
}

/**
 * Opens the data directory as its owner or as a client of its owner. Throws TASKER_DATA_DIR_IN_USE
 * when the owner cannot be reached.
 */
export async function openDataDir(options: OpenDataDirOptions): Promise<Database> {
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  // Background errors (a client's listening connection failing) go to whoever handles them by then.
  const route = { handle: options.onBackgroundError ?? (() => {}) };
  const routed = { ...options, onBackgroundError: (error: Error) => route.handle(error) };
  const first = await openOnce(routed, dir);
  if (!first.owner) return first.db;
  return failoverClient(routed, dir, first, route);
}

/** A client that, when its owner goes away, finds the next owner or becomes it. */
function failoverClient(
  options: OpenDataDirOptions,
  dir: string,
  first: Opened,
  route: { handle: (error: Error) => void },
): Database {
  let current = first;
  let recovering: Promise<void> | null = null;
  let closed = false;
  const onBackgroundError = route.handle;
  const listens = new Set<{
    channels: readonly string[];
    onNotification: (channel: string, payload: string) => void;
    onReconnect?: (() => void) | undefined;
    stop: () => Promise<void>;
  }>();

  const recover = (failed: Opened) => {
    // Only a client recovers: an owner's own socket errors are its clients' business.
    if (closed || recovering || failed !== current || !failed.owner) return;
    recovering = (async () => {
      try {
        const next = await openOnce(options, dir);
        const old = current;
        current = next;
        for (const l of listens) {
          await l.stop().catch(() => {});
          l.stop = await next.db.listen(l.channels, l.onNotification, l.onReconnect);
          l.onReconnect?.();
        }
        await old.db.close().catch(() => {});
      } catch (error) {
        onBackgroundError(error as Error);
      } finally {
        recovering = null;
      }
    })();
  };
  // A client's listening connection failing starts a recovery too.
  route.handle = (error: Error) => {
    onBackgroundError(error);
    if (isConnectionError(error)) recover(current);
  };
  const guard = async <T>(fn: (db: Database) => Promise<T>, retried = false): Promise<T> => {
    const used = current;
    try {
      return await fn(used.db);
    } catch (error) {
      if (!isConnectionError(error) || closed) throw error;
      recover(used);
      // Could not even connect (the owner's socket is gone): nothing was sent, so once the next owner
      // is found (or this process is it) the statement goes there. A statement that was sent may have
      // run: that one fails, and the caller decides.
      const code = sqlState(error);
      if (!retried && (code === 'ENOENT' || code === 'ECONNREFUSED')) {
        await recovering;
        if (current !== used) return guard(fn, true);
      }
      const owner = used.owner ? ` (pid ${used.owner.pid}, ${used.owner.command})` : '';
      throw new TaskerError(
        'TASKER_DATABASE_UNAVAILABLE',
        `lost the connection to the process that owns the embedded database in ${dir}${owner}: ${(error as Error).message}. It stopped or is stopping; the next statement goes to the next owner (or this process takes the directory over).`,
        { cause: error },
      );
    }
  };

  return {
    kind: 'pglite',
    get maxConnections() {
      return current.db.maxConnections;
    },
    get sharing(): DataDirSharing | undefined {
      if (!current.owner) return current.db.sharing;
      return {
        role: 'client',
        socket: current.owner.socket!,
        ownerPid: current.owner.pid,
        ownerCommand: current.owner.command,
      };
    },
    query: (text, params) => guard((db) => db.query(text, params)),
    exec: (sql) => guard((db) => db.exec(sql)),
    transaction: (fn) => guard((db) => db.transaction(fn)),
    async listen(channels, onNotification, onReconnect) {
      const entry = {
        channels,
        onNotification,
        onReconnect,
        stop: await guard((db) => db.listen(channels, onNotification, onReconnect)),
      };
      listens.add(entry);
      return async () => {
        listens.delete(entry);
        await entry.stop();
      };
    },
    exportSchema: (schema) =>
      guard(async (db) => {
        if (db.exportSchema) return db.exportSchema(schema); // this process took the directory over
        const { rows } = await db.query<{ sql: string }>(exportCommand(schema));
        return rows[0]!.sql;
      }),
    poolStats: () => current.db.poolStats(),
    async close() {
      closed = true;
      await recovering;
      for (const l of listens) await l.stop().catch(() => {});
      listens.clear();
      await current.db.close();
    },
  };
}
