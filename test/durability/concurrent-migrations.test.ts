/**
 * Two processes migrate the same fresh schema at the same moment: both succeed and every migration is
 * applied exactly once (the advisory lock serializes them; the second finds nothing left to do).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { LATEST_MIGRATION } from '../../src/db/migrate.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { PG_URL, uniqueSchema } from '../helpers.js';
import { DIST_BUILT } from './processes.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../fixtures/migrate.mjs', import.meta.url));
const describePg = PG_URL && DIST_BUILT ? describe : describe.skip;

describePg('migrations started by two processes at once (PostgreSQL)', () => {
  const schema = uniqueSchema('mig');
  afterEach(async () => {
    const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await db.close();
  });

  test('both succeed and each migration is applied once', async () => {
    const env = {
      ...process.env,
      TASKER_URL: PG_URL!,
      TASKER_SCHEMA: schema,
      START_AT: String(Date.now() + 1500),
    };
    const results = await Promise.all([
      run(process.execPath, [SCRIPT], { env }),
      run(process.execPath, [SCRIPT], { env }),
    ]);
    const applied = results.map((r) => (JSON.parse(r.stdout.trim()) as { applied: number[] }).applied);
    const all = applied.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: LATEST_MIGRATION }, (_, i) => i + 1));

    const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    try {
      const { rows } = await db.query<{ id: number }>(
        `SELECT id FROM ${quoteIdent(schema)}.migrations ORDER BY id`,
      );
      expect(rows.map((r) => r.id)).toEqual(all);
    } finally {
      await db.close();
    }
  });
});
