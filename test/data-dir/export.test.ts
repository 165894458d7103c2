/**
 * Growing up from the embedded database: `exportSchema` (what `tasker db export` writes) turns a PGlite
 * database with finished and pending tasks into SQL that psql loads into a fresh PostgreSQL database;
 * there the audit trail of the finished tasks reads back, Tasker finds its schema current, and a worker
 * finishes the pending tasks.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { portableDump } from '../../src/db/data-dir/export-sql.js';
import { migrationStatus } from '../../src/db/migrate.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { createTasker, defineTask, type Tasker } from '../../src/index.js';
import { PG_URL, uniqueSchema } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function register(tasker: Tasker, ran: string[]): void {
  tasker.register(
    defineTask({
      namespace: 'move',
      name: 'order',
      version: '1.0.0',
      steps: [
        { name: 'reserve', handler: async ({ context }) => ({ reserved: (context as { n: number }).n }) },
        {
          name: 'ship',
          dependsOn: ['reserve'],
          handler: async ({ context, parents }) => {
            ran.push(`ship ${(context as { n: number }).n}`);
            return { shipped: (parents as { reserve: { reserved: number } }).reserve.reserved };
          },
        },
      ],
    }),
  );
}

const fast = { pollIntervalMs: 200, shutdownTimeoutMs: 2000 };

describe('portableDump', () => {
  test('drops the lines only PGlite or PostgreSQL 17+ understand, and nothing else', () => {
    const dump = [
      'SET statement_timeout = 0;',
      'SET transaction_timeout = 0;',
      'CREATE TABLE "s"."t" (id bigint NOT NULL);',
      'ALTER TABLE ONLY "s"."t" ALTER COLUMN "id" SET (pg_attver=24269232);',
      'ALTER TABLE ONLY "s"."t" ALTER COLUMN "id" SET (n_distinct=5);',
      '',
    ].join('\n');
    expect(portableDump(dump)).toBe(
      [
        'SET statement_timeout = 0;',
        'CREATE TABLE "s"."t" (id bigint NOT NULL);',
        'ALTER TABLE ONLY "s"."t" ALTER COLUMN "id" SET (n_distinct=5);',
        '',
      ].join('\n'),
    );
  });
});

describe.runIf(PG_URL)('moving the embedded database into PostgreSQL', () => {
  test('export, psql, then a worker on PostgreSQL finishes the pending tasks', {
    timeout: 180_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tasker-export-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const schema = uniqueSchema('exp');
    const ran: string[] = [];

    const source = await createTasker({
      database: { dataDir: join(dir, 'data'), schema },
      execution: fast,
      telemetry: { enabled: false },
    });
    cleanups.push(() => source.close());
    register(source, ran);
    const finished = await source.createTasks(
      [1, 2].map((n) => ({ namespace: 'move', name: 'order', context: { n } })),
    );
    const worker = await source.startWorker();
    for (const t of finished)
      expect((await source.waitForTask(t.id, { timeoutMs: 60_000 })).state).toBe('complete');
    await worker.stop();
    const pending = await source.createTasks(
      [3, 4].map((n) => ({ namespace: 'move', name: 'order', context: { n } })),
    );
    const trails = await Promise.all(finished.map((t) => source.getAuditTrail(t.id)));
    const sql = await source.database.exportSchema!(schema);
    await source.close();
    expect(sql).not.toContain('pg_attver');
    const file = join(dir, 'dump.sql');
    writeFileSync(file, sql);

    // A fresh database on the server, loaded the way docs/deployment.md says.
    const name = `tasker_export_${randomBytes(5).toString('hex')}`;
    const admin = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    await admin.exec(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    });
    const url = new URL(PG_URL!);
    url.pathname = `/${name}`;
    const psql = spawnSync('psql', [url.toString(), '-v', 'ON_ERROR_STOP=1', '-q', '-f', file], {
      encoding: 'utf8',
    });
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stderr).toBe('');

    const loaded = createPostgresDatabase({ connectionString: url.toString(), maxConnections: 1 });
    const status = await migrationStatus(loaded, schema);
    await loaded.close();
    expect(status.pending).toBe(0); // Tasker finds its schema current: nothing to migrate

    const target = await createTasker({
      database: { url: url.toString(), schema, maxConnections: 4 },
      execution: fast,
      telemetry: { enabled: false },
    });
    cleanups.push(() => target.close());
    register(target, ran);
    for (const [i, t] of finished.entries()) {
      expect((await target.getTask(t.id)).state).toBe('complete');
      const trail = await target.getAuditTrail(t.id);
      expect(trail).toEqual(trails[i]); // every transition, its metadata and its time
    }
    expect((await target.getTask(pending[0]!.id)).state).toBe('pending');
    await target.startWorker();
    for (const t of pending) {
      const done = await target.waitForTask(t.id, { timeoutMs: 60_000 });
      expect(done.state).toBe('complete');
      expect(done.steps.find((s) => s.name === 'ship')!.results).toEqual({
        shipped: t.id === pending[0]!.id ? 3 : 4,
      });
    }
    // The sequences came along: a new task gets an id after the old ones.
    const next = await target.createTask({ namespace: 'move', name: 'order', context: { n: 5 } });
    expect(next.id).toBeGreaterThan(Math.max(...pending.map((t) => t.id)));
    expect(ran.sort()).toEqual(['ship 1', 'ship 2', 'ship 3', 'ship 4']);
  });
});
