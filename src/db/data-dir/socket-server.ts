/**
 * Serves this process's PGlite to other processes over a Unix socket, speaking PostgreSQL's wire
 * protocol, so that they connect with node-postgres as to any server. PGlite has one session, so:
 *
 * - a connection's messages run in batches up to each Sync/Query (wire-protocol.ts), and a connection
 *   whose batch leaves a transaction open keeps the session (session-gate.ts) until the transaction
 *   ends: no other process's statement, nor this process's, runs inside it. A connection that goes away
 *   in a transaction is rolled back.
 * - notifications: PGlite writes a NOTIFY's notification into the answer of whoever committed it, so the
 *   server takes them out of every answer and relays each to the connections that LISTEN to its channel
 *   and to this process's listeners (and this process's own notifications to the connections). `UNLISTEN`
 *   only stops the relay to that connection: the session keeps listening for the others.
 *
 * Why not @electric-sql/pglite-socket: its queue interleaves the messages of concurrent connections
 * between Parse and Sync (the unnamed statement of one client can then be bound by another), it sends
 * notifications to the wrong connection, and it locks only PGlite's query mutex, not this process's
 * transactions.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { EmbeddedDatabase } from '../pglite-database.js';
import {
  CANCEL_REQUEST,
  type ClientMessage,
  commandDone,
  endsBatch,
  errorMessage,
  extractNotifications,
  GSSENC_REQUEST,
  type Notification,
  notificationMessage,
  parseExportCommand,
  parseListen,
  queryText,
  readyForQuery,
  SSL_REQUEST,
  singleTextRow,
  startupCode,
  takeMessages,
} from './wire-protocol.js';

export interface SocketServer {
  readonly path: string;
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes every connection (a client in a transaction is rolled back). */
  close(): Promise<void>;
}

interface Connection {
  readonly socket: Socket;
  readonly channels: Set<string>;
  buffer: Buffer;
  startup: boolean;
  pending: ClientMessage[];
  /** Batches run one after the other. */
  chain: Promise<void>;
  /** The session, while this connection holds it (inside a transaction, or during a batch). */
  release: (() => void) | null;
  closed: boolean;
}

export async function startSocketServer(
  embedded: EmbeddedDatabase,
  path: string,
  onError: (error: Error) => void = () => {},
): Promise<SocketServer> {
  const { pglite, gate } = embedded;
  const connections = new Set<Connection>();

  const relay = (notification: Notification) => {
    const bytes = notificationMessage(notification);
    for (const c of connections) {
      if (!c.closed && c.channels.has(notification.channel)) c.socket.write(bytes);
    }
  };
  const offAny = embedded.onAnyNotification((channel, payload) => relay({ channel, payload }));

  /** Runs raw protocol bytes on the session (held by the caller); the answer without notifications. */
  const execute = async (bytes: Buffer): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    await pglite.runExclusive(() =>
      pglite.execProtocolRawStream(new Uint8Array(bytes), {
        onRawData: (chunk) => chunks.push(Buffer.from(chunk)),
      }),
    );
    const { rest, notifications } = extractNotifications(Buffer.concat(chunks));
    for (const n of notifications) embedded.publish(n.channel, n.payload);
    return rest;
  };

  const runBatch = async (c: Connection, batch: ClientMessage[]): Promise<void> => {
    const first = batch[0]!;
    if (first.type === 'X') return end(c);
    if (first.type === '') {
      const code = startupCode(first);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        c.socket.write('N'); // no encryption on a local socket
        return;
      }
      if (code === CANCEL_REQUEST) return end(c); // cancelling is not supported; the statement runs on
    }
    // LISTEN/UNLISTEN are the relay's business: UNLISTEN must not stop the session's listening.
    const listen = batch.length === 1 && first.type === 'Q' ? parseListen(queryText(first)) : null;
    if (listen?.command === 'UNLISTEN') {
      if (listen.channel === '*') c.channels.clear();
      else c.channels.delete(listen.channel);
      c.socket.write(commandDone('UNLISTEN', c.release !== null && pglite.isInTransaction()));
      return;
    }
    const exportSchema =
      batch.length === 1 && first.type === 'Q' ? parseExportCommand(queryText(first)) : null;
    if (exportSchema !== null && !c.release) {
      // pg_dump must run in the process that holds PGlite: the owner runs it for its client.
      try {
        const sql = await embedded.database.exportSchema!(exportSchema);
        if (!c.closed) c.socket.write(singleTextRow('sql', sql, false));
      } catch (error) {
        if (!c.closed) {
          c.socket.write(
            Buffer.concat([errorMessage('ERROR', 'XX000', (error as Error).message), readyForQuery(false)]),
          );
        }
      }
      return;
    }
    c.release ??= await gate.exclusive();
    if (c.closed) return;
    const answer = await execute(Buffer.concat(batch.map((m) => m.bytes)));
    if (listen?.command === 'LISTEN') c.channels.add(listen.channel);
    if (!c.closed) c.socket.write(answer);
    if (!pglite.isInTransaction()) {
      c.release();
      c.release = null;
    }
  };

  const end = async (c: Connection): Promise<void> => {
    if (c.closed) return;
    c.closed = true;
    connections.delete(c);
    c.socket.destroy();
    if (c.release) {
      try {
        if (pglite.isInTransaction()) await execute(Buffer.from(simpleQuery('ROLLBACK')));
      } catch (error) {
        onError(error as Error);
      } finally {
        c.release();
        c.release = null;
      }
    }
  };

  const onData = (c: Connection, data: Buffer) => {
    c.buffer = c.buffer.length === 0 ? data : Buffer.concat([c.buffer, data]);
    const { messages, rest, startupDone } = takeMessages(c.buffer, c.startup);
    c.buffer = rest;
    c.startup = !startupDone;
    for (const m of messages) {
      c.pending.push(m);
      if (!endsBatch(m)) continue;
      const batch = c.pending.splice(0);
      c.chain = c.chain
        .then(() => (c.closed ? undefined : runBatch(c, batch)))
        .catch((error: unknown) => {
          onError(error as Error);
          if (!c.closed)
            c.socket.write(errorMessage('FATAL', 'XX000', `embedded database: ${(error as Error).message}`));
          return end(c);
        });
    }
  };

  rmSync(path, { force: true }); // a stale socket of a dead owner (the owner record says it is ours now)
  const server: Server = createServer((socket) => {
    const c: Connection = {
      socket,
      channels: new Set(),
      buffer: Buffer.alloc(0),
      startup: true,
      pending: [],
      chain: Promise.resolve(),
      release: null,
      closed: false,
    };
    connections.add(c);
    socket.setNoDelay(true);
    socket.on('data', (data) => onData(c, data));
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      c.chain = c.chain.then(() => end(c));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', onError);
  chmodSync(path, 0o600); // only this user's processes may connect (there is no password)

  return {
    path,
    connections: () => connections.size,
    async close() {
      offAny();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...connections].map((c) => (c.chain = c.chain.then(() => end(c)))));
      await closing;
      rmSync(path, { force: true });
    },
  };
}

function simpleQuery(sql: string): Buffer {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('Q', 0, 'latin1');
  header.writeInt32BE(text.length + 4, 1);
  return Buffer.concat([header, text]);
}
