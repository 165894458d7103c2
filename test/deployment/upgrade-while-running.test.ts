// Upgrading while workers run, on PostgreSQL: worker processes keep running tasks while a newer
// release's migration is applied under them (here a stand-in migration 1 past the latest, which alters
// the steps table as real ones do); a worker of this release started afterwards refuses the newer
// schema with one line saying what to do, and the running ones stop cleanly.
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { MIGRATIONS } from '../../src/db/migrations.generated.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { createTasker, loadWorkflows, registerWorkflows } from '../../src/index.js';
import { cli, databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL } from '../helpers.js';

describe.skipIf(!PG_URL)('upgrading the schema while workers run', { timeout: 180_000 }, () => {
  it('running workers go on through the migration; a worker older than the schema refuses to start', async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/work.yaml':
        'name: work\nnamespace_name: demo\nversion: 1.0.0\nstep_templates:\n  - name: a\n    handler: pause\n  - name: b\n    depends_on_step: a\n    handler: pause\n',
      'handlers/pause.ts':
        'export const pause = () => new Promise((r) => setTimeout(() => r({ ok: true }), 20));\n',
    });
    const env = databaseEnv('postgres', dir);
    const schema = env.TASKER_DATABASE_SCHEMA!;
    expect((await cli(['migrate'], dir, env)).code).toBe(0);
    const workers = [1, 2].map(() => spawnCli(['worker', '--concurrency', '20'], dir, env));
    await Promise.all(workers.map((w) => w.waitFor('started')));

    const tasker = await createTasker({ database: { url: PG_URL!, schema, migrate: false } });
    const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 2 });
    try {
      registerWorkflows(
        tasker,
        await loadWorkflows({ templatesDir: `${dir}/templates`, handlersDir: `${dir}/handlers` }),
      );
      const first = await tasker.createTasks(
        Array.from({ length: 150 }, () => ({ namespace: 'demo', name: 'work' })),
      );
      // The next release's migration, applied while the workers claim and finish steps.
      const next = {
        id: MIGRATIONS.length + 1,
        name: 'upgrade_probe',
        sql: `ALTER TABLE :TASKER_SCHEMA.steps ADD COLUMN upgrade_probe smallint NOT NULL DEFAULT 0;
              CREATE INDEX steps_upgrade_probe ON :TASKER_SCHEMA.steps (upgrade_probe);`,
      };
      expect(await migrate(db, schema, { migrations: [...MIGRATIONS, next] })).toEqual([next.id]);
      const second = await tasker.createTasks(
        Array.from({ length: 50 }, () => ({ namespace: 'demo', name: 'work' })),
      );
      for (const { id } of [...first, ...second]) {
        expect((await tasker.waitForTask(id, { timeoutMs: 120_000 })).state).toBe('complete');
      }
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${quoteIdent(schema)}.steps WHERE state = 'complete'`,
      );
      expect(Number(rows[0]!.n)).toBe(400);

      // This release against the newer schema: refused at start, one line, no stack.
      const late = await cli(['worker'], dir, env);
      expect(late.code).toBe(6);
      expect(late.stderr).toContain(`is at migration ${next.id}, newer than this version of Tasker knows`);
      expect(late.stderr).toContain('upgrade Tasker');
      expect(late.stderr).not.toMatch(/^\s+at /m);

      for (const w of workers) w.child.kill('SIGTERM');
      for (const result of await Promise.all(workers.map((w) => w.result))) expect(result.code).toBe(0);
    } finally {
      await tasker.close();
      await db.close();
    }
  });
});
