// Exactly one task per tick with three worker processes racing on PostgreSQL, one of them killed with
// SIGKILL while it fires: the ticks fired are consecutive seconds, none twice, none missing.
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL, sleep } from '../helpers.js';

describe.skipIf(!PG_URL)('schedules with three worker processes on PostgreSQL', { timeout: 180_000 }, () => {
  it('each tick creates exactly one task, also when a worker is killed mid-run', async () => {
    const dir = tempProject({
      'tasker.config.yaml': [
        'workflows:',
        '  templatesDir: ./templates',
        '  handlersDir: ./handlers',
        'execution: { leaseMs: 3000 }',
        'schedules:',
        '  - { name: tick, task: demo/tick, intervalMs: 1000, catchUp: all, catchUpLimit: 5 }',
        '',
      ].join('\n'),
      'templates/tick.yaml':
        'name: tick\nnamespace_name: demo\nversion: 1.0.0\nstep_templates:\n  - name: only\n    handler: one\n',
      'handlers/one.ts': 'export const one = () => 1;\n',
    });
    const env = databaseEnv('postgres', dir);
    const workers = [1, 2, 3].map(() => spawnCli(['worker'], dir, env));
    await Promise.all(workers.map((w) => w.waitFor('started')));
    await sleep(3000);
    workers[0]!.child.kill('SIGKILL');
    await sleep(4000);
    for (const w of workers.slice(1)) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.result));

    const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    try {
      const s = quoteIdent(env.TASKER_DATABASE_SCHEMA!);
      const fires = await db.query<{ tick_at: Date; task_id: string }>(
        `SELECT tick_at, task_id FROM ${s}.schedule_fires ORDER BY tick_at`,
      );
      const tasks = await db.query<{ n: string; keys: string }>(
        `SELECT count(*) AS n, count(DISTINCT identity_key) AS keys FROM ${s}.tasks WHERE initiator = 'schedule:tick'`,
      );
      const ticks = fires.rows.map((r) => new Date(r.tick_at).getTime());
      expect(ticks.length).toBeGreaterThanOrEqual(5);
      // One task per fired tick, each its own.
      expect(Number(tasks.rows[0]!.n)).toBe(ticks.length);
      expect(Number(tasks.rows[0]!.keys)).toBe(ticks.length);
      expect(new Set(fires.rows.map((r) => r.task_id)).size).toBe(ticks.length);
      // Consecutive seconds: none twice, none missing, through the kill.
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    } finally {
      await db.close();
    }
  });
});
