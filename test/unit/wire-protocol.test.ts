import { describe, expect, it } from 'vitest';
import { createSessionGate } from '../../src/db/data-dir/session-gate.js';
import {
  endsBatch,
  exportCommand,
  extractNotifications,
  notificationMessage,
  parseExportCommand,
  parseListen,
  takeMessages,
} from '../../src/db/data-dir/wire-protocol.js';

function typed(type: string, body: string): Buffer {
  const b = Buffer.from(body);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([header, b]);
}

describe('the socket server wire protocol', () => {
  it('cuts a stream into messages across chunk boundaries and ends batches at Sync/Query', () => {
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(196608, 4);
    const stream = Buffer.concat([
      startup,
      typed('P', 'parse'),
      typed('B', 'bind'),
      typed('S', ''),
      typed('Q', 'x\0'),
    ]);
    const first = takeMessages(stream.subarray(0, 15), true);
    expect(first.messages.map((m) => m.type)).toEqual(['']);
    expect(first.startupDone).toBe(true);
    const rest = takeMessages(Buffer.concat([first.rest, stream.subarray(15)]), false);
    expect(rest.messages.map((m) => m.type)).toEqual(['P', 'B', 'S', 'Q']);
    expect(rest.rest.length).toBe(0);
    expect(rest.messages.map(endsBatch)).toEqual([false, false, true, true]);
  });

  it('takes notifications out of an answer and keeps the rest in order', () => {
    const a = typed('C', 'NOTIFY\0');
    const n = notificationMessage({ channel: 'tasker:ready', payload: '[1,2]' });
    const z = typed('Z', 'I');
    const { rest, notifications } = extractNotifications(Buffer.concat([a, n, z, n]));
    expect(notifications).toEqual([
      { channel: 'tasker:ready', payload: '[1,2]' },
      { channel: 'tasker:ready', payload: '[1,2]' },
    ]);
    expect(rest).toEqual(Buffer.concat([a, z]));
  });

  it('reads LISTEN/UNLISTEN as PostgreSQL does, and our export command', () => {
    expect(parseListen('LISTEN "t-1 x:ready"')).toEqual({ command: 'LISTEN', channel: 't-1 x:ready' });
    expect(parseListen('unlisten Foo;')).toEqual({ command: 'UNLISTEN', channel: 'foo' });
    expect(parseListen('UNLISTEN *')).toEqual({ command: 'UNLISTEN', channel: '*' });
    expect(parseListen('LISTEN a; SELECT 1')).toBeNull();
    expect(parseExportCommand(exportCommand('my "s" x'))).toBe('my "s" x');
    expect(parseExportCommand('SELECT 1')).toBeNull();
  });
});

describe('the session gate', () => {
  it('lets local work share the session, gives a connection it whole, first come first served', async () => {
    const gate = createSessionGate();
    const order: string[] = [];
    let releaseLocal!: () => void;
    const local1 = gate.local(async () => {
      order.push('local1 start');
      await new Promise<void>((r) => {
        releaseLocal = r;
      });
      // Nested local work inside local work does not wait (no deadlock).
      await gate.local(async () => order.push('nested'));
      order.push('local1 end');
    });
    const exclusive = gate.exclusive().then((release) => {
      order.push('exclusive');
      return release;
    });
    const local2 = gate.local(async () => order.push('local2')); // queued behind the exclusive waiter
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['local1 start']);
    releaseLocal();
    await local1;
    const release = await exclusive;
    expect(order).toEqual(['local1 start', 'nested', 'local1 end', 'exclusive']);
    release();
    await local2;
    expect(order.at(-1)).toBe('local2');
  });
});
