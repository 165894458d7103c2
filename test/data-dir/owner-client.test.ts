/**
 * The owner of a data directory and its clients, in one process (the socket is real; the processes are
 * tested in sharing.test.ts): statements of several connections never mix, a client's transaction keeps
 * the session to itself, notifications reach every listener whoever sent them, and a client whose owner
 * closes gets a clear error and then takes the directory over with its data.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDataDir } from '../../src/db/data-dir/open-data-dir.js';
import { listGenerations, readRecord } from '../../src/db/data-dir/owner-record.js';
import type { Database } from '../../src/db/database.js';
import { isTaskerError } from '../../src/errors.js';

let dir: string;
let owner: Database;
let client: Database;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tasker-owner-'));
  owner = await openDataDir({ dataDir: dir });
  client = await openDataDir({ dataDir: dir });
  await owner.exec('CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)');
}, 180_000);

afterAll(async () => {
  await client?.close();
  await owner?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an owner and its client on one data directory', { timeout: 120_000 }, () => {
  test('the first opener owns and serves it, the second is its client', () => {
    expect(owner.sharing).toEqual({ role: 'owner', socket: join(dir, '.s.PGSQL.5432') });
    expect(client.sharing).toMatchObject({ role: 'client', ownerPid: process.pid });
    expect(readRecord(dir, listGenerations(dir)[0]!)).toMatchObject({ pid: process.pid, state: 'serving' });
  });

  test('parameterized statements of concurrent connections never mix (each answer is its own)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 3 === 0 ? owner : client).query<{ v: number; t: string }>('SELECT $1::int AS v, $2::text AS t', [
          i,
          `text ${i}`,
        ]),
      ),
    );
    expect(answers.map((a) => a.rows[0])).toEqual(
      Array.from({ length: 200 }, (_, i) => ({ v: i, t: `text ${i}` })),
    );
  });

  test("a client's transaction keeps the session: the owner's statement waits, a rollback leaves nothing", async () => {
    let ownerDone = false;
    let ownerCount: number | null = null;
    await expect(
      client.transaction(async (tx) => {
        await tx.query("INSERT INTO items (label) VALUES ('inside')");
        const outside = owner.query<{ n: number }>('SELECT count(*)::int AS n FROM items').then((r) => {
          ownerDone = true;
          ownerCount = r.rows[0]!.n;
        });
        await sleep(300);
        expect(ownerDone).toBe(false); // not inside the client's transaction
        void outside;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    for (let i = 0; i < 100 && !ownerDone; i++) await sleep(20);
    expect(ownerCount).toBe(0);
  });

  test('notifications reach the listeners of both, whoever sends them', async () => {
    const heard: string[] = [];
    const offOwner = await owner.listen(['chan:x'], (_, payload) => heard.push(`owner ${payload}`));
    const offClient = await client.listen(['chan:x'], (_, payload) => heard.push(`client ${payload}`));
    await client.query(`SELECT pg_notify('chan:x', 'from client')`);
    await owner.query(`SELECT pg_notify('chan:x', 'from owner')`);
    for (let i = 0; i < 100 && heard.length < 4; i++) await sleep(20);
    expect(heard.sort()).toEqual([
      'client from client',
      'client from owner',
      'owner from client',
      'owner from owner',
    ]);
    await offClient();
    await owner.query(`SELECT pg_notify('chan:x', 'after unlisten')`);
    await sleep(200);
    expect(heard.filter((h) => h.includes('after'))).toEqual(['owner after unlisten']);
    await offOwner();
  });

  test('when the owner closes, the client gets a clear error, then takes the directory over with its data', async () => {
    await client.query("INSERT INTO items (label) VALUES ('kept')");
    await owner.close();
    const error = await client.query('SELECT 1').catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_DATABASE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error as Error).message).toContain(
      `lost the connection to the process that owns the embedded database in ${dir} (pid ${process.pid}`,
    );
    let rows: Array<{ label: string }> = [];
    for (let i = 0; i < 300; i++) {
      try {
        rows = (await client.query<{ label: string }>('SELECT label FROM items')).rows;
        break;
      } catch {
        await sleep(100);
      }
    }
    expect(rows).toEqual([{ label: 'kept' }]);
    expect(client.sharing).toEqual({ role: 'owner', socket: join(dir, '.s.PGSQL.5432') });
    expect(listGenerations(dir)).toEqual([2]);
  });
});

describe('a data directory too deep for a Unix socket path', { timeout: 120_000 }, () => {
  test('gets its socket in a private temp dir, named in the owner record, removed on close', async () => {
    const deep = join(mkdtempSync(join(tmpdir(), 'tasker-deep-')), 'a'.repeat(60), 'b'.repeat(40), '.tasker');
    const deepOwner = await openDataDir({ dataDir: deep });
    const socket = (deepOwner.sharing as { socket: string }).socket;
    try {
      expect(socket.startsWith(tmpdir())).toBe(true);
      expect(socket.length).toBeLessThanOrEqual(100);
      expect(readRecord(deep, 1)).toMatchObject({ state: 'serving', socket });
      const deepClient = await openDataDir({ dataDir: deep });
      expect((await deepClient.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
      await deepClient.close();
    } finally {
      await deepOwner.close();
      rmSync(join(deep, '../../..'), { recursive: true, force: true });
    }
    expect(existsSync(join(socket, '..'))).toBe(false);
  });
});
