/**
 * The few pieces of PostgreSQL's wire protocol (v3) the socket server needs: cutting a client's byte
 * stream into messages, and into batches that must run on the session without another connection's
 * messages in between (an extended-protocol Parse/Bind/Execute runs up to its Sync); finding the
 * notifications in PGlite's answer; and the handful of answers the server writes itself. Pure.
 */

export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** A message from a client: `type` is '' for the untyped start-up packets (startup, SSL, cancel). */
export interface ClientMessage {
  readonly type: string;
  /** The whole message, type byte and length included. */
  readonly bytes: Buffer;
}

/**
 * Takes the complete messages from the front of `buffer`; `startup` says whether the client has not yet
 * sent its start-up packet (untyped). Returns them with the rest of the buffer.
 */
export function takeMessages(
  buffer: Buffer,
  startup: boolean,
): { messages: ClientMessage[]; rest: Buffer; startupDone: boolean } {
  const messages: ClientMessage[] = [];
  let offset = 0;
  let inStartup = startup;
  for (;;) {
    if (inStartup) {
      if (buffer.length - offset < 8) break;
      const length = buffer.readInt32BE(offset);
      if (buffer.length - offset < length) break;
      const code = buffer.readInt32BE(offset + 4);
      messages.push({ type: '', bytes: buffer.subarray(offset, offset + length) });
      offset += length;
      // SSL and GSS requests come before the real start-up packet; anything else is it.
      if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) inStartup = false;
    } else {
      if (buffer.length - offset < 5) break;
      const length = 1 + buffer.readInt32BE(offset + 1);
      if (buffer.length - offset < length) break;
      messages.push({
        type: String.fromCharCode(buffer[offset]!),
        bytes: buffer.subarray(offset, offset + length),
      });
      offset += length;
    }
  }
  return { messages, rest: Buffer.from(buffer.subarray(offset)), startupDone: !inStartup };
}

/**
 * Whether a batch ends with this message: Sync and Flush (the extended protocol waits for an answer),
 * a simple Query, Terminate, and every start-up packet.
 */
export function endsBatch(message: ClientMessage): boolean {
  return ['', 'S', 'H', 'Q', 'X'].includes(message.type);
}

/** The untyped packet's code (startup 196608, SSL, GSS or cancel request). */
export function startupCode(message: ClientMessage): number {
  return message.bytes.readInt32BE(4);
}

/** The SQL text of a simple Query message. */
export function queryText(message: ClientMessage): string {
  return message.bytes.subarray(5, message.bytes.length - 1).toString('utf8');
}

/** A NotificationResponse found in the server's answer. */
export interface Notification {
  readonly channel: string;
  readonly payload: string;
}

/** Splits PGlite's answer into the bytes for the client and the notifications (which are relayed). */
export function extractNotifications(answer: Buffer): { rest: Buffer; notifications: Notification[] } {
  const notifications: Notification[] = [];
  const kept: Buffer[] = [];
  let offset = 0;
  let keptFrom = 0;
  while (answer.length - offset >= 5) {
    const length = 1 + answer.readInt32BE(offset + 1);
    if (answer[offset] === 0x41 /* 'A' */ && answer.length - offset >= length) {
      const body = answer.subarray(offset + 9, offset + length);
      const end = body.indexOf(0);
      notifications.push({
        channel: body.subarray(0, end).toString('utf8'),
        payload: body.subarray(end + 1, body.length - 1).toString('utf8'),
      });
      kept.push(answer.subarray(keptFrom, offset));
      keptFrom = offset + length;
    }
    offset += length;
  }
  if (notifications.length === 0) return { rest: answer, notifications };
  kept.push(answer.subarray(keptFrom));
  return { rest: Buffer.concat(kept), notifications };
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const cstring = (text: string) => Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);

/** NotificationResponse. */
export function notificationMessage(notification: Notification, pid = 0): Buffer {
  const pidBytes = Buffer.alloc(4);
  pidBytes.writeInt32BE(pid);
  return message(
    'A',
    Buffer.concat([pidBytes, cstring(notification.channel), cstring(notification.payload)]),
  );
}

/** CommandComplete + ReadyForQuery: the answer to a statement the server handled itself. */
export function commandDone(tag: string, inTransaction: boolean): Buffer {
  return Buffer.concat([message('C', cstring(tag)), readyForQuery(inTransaction)]);
}

/** ErrorResponse: FATAL for a connection the server gives up on, ERROR for a failed statement. */
export function errorMessage(severity: 'FATAL' | 'ERROR', sqlState: string, text: string): Buffer {
  return message(
    'E',
    Buffer.concat([
      cstring(`S${severity}`),
      cstring(`V${severity}`),
      cstring(`C${sqlState}`),
      cstring(`M${text}`),
      Buffer.from([0]),
    ]),
  );
}

/** ReadyForQuery. */
export function readyForQuery(inTransaction: boolean): Buffer {
  return message('Z', Buffer.from(inTransaction ? 'T' : 'I'));
}

/** The answer to a query of one text column and one row, ending with ReadyForQuery. */
export function singleTextRow(column: string, value: string, inTransaction: boolean): Buffer {
  const field = Buffer.alloc(18);
  field.writeInt32BE(0, 0); // table oid
  field.writeInt16BE(0, 4); // column number
  field.writeInt32BE(25, 6); // type: text
  field.writeInt16BE(-1, 10); // type size: variable
  field.writeInt32BE(-1, 12); // type modifier
  field.writeInt16BE(0, 16); // format: text
  const count = Buffer.alloc(2);
  count.writeInt16BE(1);
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  return Buffer.concat([
    message('T', Buffer.concat([count, cstring(column), field])),
    message('D', Buffer.concat([count, length, bytes])),
    message('C', cstring('SELECT 1')),
    readyForQuery(inTransaction),
  ]);
}

/**
 * Our own command on the socket (not SQL, so it cannot clash with a real statement): the owner runs
 * pg_dump for a client, which cannot run it itself (pg_dump needs PGlite in its process).
 */
export const EXPORT_COMMAND = 'TASKER EXPORT SCHEMA';

export function exportCommand(schema: string): string {
  return `${EXPORT_COMMAND} "${schema.replaceAll('"', '""')}"`;
}

/** The schema of an export command, or null. */
export function parseExportCommand(sql: string): string | null {
  const match = /^TASKER EXPORT SCHEMA "((?:[^"]|"")+)"$/.exec(sql);
  return match ? match[1]!.replaceAll('""', '"') : null;
}

/**
 * `LISTEN x` / `UNLISTEN x` / `UNLISTEN *` as a whole simple query (what our clients send), with the
 * channel name as PostgreSQL reads it (quoted: as is; unquoted: lower case). Null for anything else.
 */
export function parseListen(sql: string): { command: 'LISTEN' | 'UNLISTEN'; channel: string | '*' } | null {
  const match = /^\s*(LISTEN|UNLISTEN)\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*|\*)\s*;?\s*$/i.exec(sql);
  if (!match) return null;
  const command = match[1]!.toUpperCase() as 'LISTEN' | 'UNLISTEN';
  const name = match[2]!;
  if (name === '*') return command === 'UNLISTEN' ? { command, channel: '*' } : null;
  const channel = name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase();
  return { command, channel };
}
