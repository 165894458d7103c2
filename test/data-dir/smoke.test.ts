import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { openDataDir } from '../../src/db/data-dir/open-data-dir.js';

test('smoke', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-dd-'));
  const owner = await openDataDir({ dataDir: dir });
  console.log(
    owner.sharing,
    readdirSync(dir).filter((n) => n.includes('tasker') || n.startsWith('.s')),
  );
  const client = await openDataDir({ dataDir: dir });
  console.log(client.sharing);
  await owner.exec('CREATE TABLE t (x int)');
  await client.query('INSERT INTO t VALUES ($1)', [1]);
  const got: string[] = [];
  await owner.listen(['a:b'], (c, p) => got.push(`owner ${c} ${p}`));
  await client.listen(['a:b'], (c, p) => got.push(`client ${c} ${p}`));
  await client.exec(`NOTIFY "a:b", 'from-client'`);
  await owner.exec(`NOTIFY "a:b", 'from-owner'`);
  await new Promise((r) => setTimeout(r, 200));
  console.log(got);
  const results = await Promise.all(
    Array.from({ length: 300 }, (_, i) => client.query<{ v: number }>('SELECT $1::int AS v', [i])),
  );
  expect(results.map((r) => r.rows[0]!.v)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  await client.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (2)');
    const outside = owner.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    await new Promise((r) => setTimeout(r, 100));
    await tx.query('INSERT INTO t VALUES (3)');
    console.log(
      'owner saw',
      await Promise.race([outside, new Promise((r) => setTimeout(() => r('waiting'), 50))]),
    );
  });
  console.log((await owner.query('SELECT count(*)::int AS n FROM t')).rows);
  await client.close();
  await owner.close();
  console.log(readdirSync(dir).filter((n) => n.includes('tasker') || n.startsWith('.s')));
  const again = await openDataDir({ dataDir: dir });
  console.log(again.sharing, (await again.query('SELECT count(*)::int AS n FROM t')).rows);
  await again.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);
