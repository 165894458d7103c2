// Pruning across processes on PostgreSQL: three `tasker prune` processes racing remove every old task
// exactly once, and three `tasker worker` processes whose retention job runs on a short interval share
// the work (one pruner at a time: the others give way), each removal reported once. The same in archive
// mode, then the archived tasks listed, shown and their partitions listed by the CLI.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { createTasker, loadWorkflows, registerWorkflows } from '../../src/index.js';
import { PG_URL } from '../helpers.js';
import { cli, databaseEnv, json, spawnCli, tempProject } from './cli-helpers.js';

const TEMPLATE = `
name: tiny
namespace_name: demo
version: 1.0.0
step_templates:
  - name: only
    handler: one
`;
const HANDLERS = 'export const one = () => 1;\n';

/** A project with old finished tasks in a fresh schema: `n` tasks that finished 40 days ago. */
async function projectWithHistory(n: number, config = '') {
  const dir = tempProject({
    'tasker.config.yaml': `workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n${config}`,
    'templates/tiny.yaml': TEMPLATE,
    'handlers/one.ts': HANDLERS,
  });
  const env = databaseEnv('postgres', dir);
  const tasker = await createTasker({
    database: { url: PG_URL!, schema: env.TASKER_DATABASE_SCHEMA! },
    execution: { concurrency: 50 },
  });
  try {
    registerWorkflows(
      tasker,
      await loadWorkflows({ templatesDir: join(dir, 'templates'), handlersDir: join(dir, 'handlers') }),
    );
    await tasker.startWorker();
    const created = await tasker.createTasks(
      Array.from({ length: n }, () => ({ namespace: 'demo', name: 'tiny' })),
    );
    for (const { id } of created) await tasker.waitForTask(id, { timeoutMs: 60_000 });
    const s = quoteIdent(env.TASKER_DATABASE_SCHEMA!);
    await tasker.database.query(`UPDATE ${s}.tasks SET completed_at = now() - interval '40 days'`);
  } finally {
    await tasker.close();
  }
  const remaining = async () => {
    const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
    try {
      const s = quoteIdent(env.TASKER_DATABASE_SCHEMA!);
      const { rows } = await db.query<{ tasks: string; audit: string; archived: string }>(
        `SELECT (SELECT count(*) FROM ${s}.tasks) AS tasks,
           (SELECT count(*) FROM ${s}.task_transitions) + (SELECT count(*) FROM ${s}.step_transitions) AS audit,
           (SELECT count(DISTINCT id) FROM ${s}.archived_tasks) AS archived`,
      );
      return {
        tasks: Number(rows[0]!.tasks),
        audit: Number(rows[0]!.audit),
        archived: Number(rows[0]!.archived),
      };
    } finally {
      await db.close();
    }
  };
  return { dir, env, remaining };
}

describe.skipIf(!PG_URL)('pruning with several processes on PostgreSQL', { timeout: 240_000 }, () => {
  it('three tasker prune processes racing remove each old task exactly once', async () => {
    const { dir, env, remaining } = await projectWithHistory(300);
    const results = await Promise.all(
      [1, 2, 3].map(() => cli(['prune', '--older-than', '30d', '--batch-size', '20', '--json'], dir, env)),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const reports = results.map((r) => json<{ tasks: number; skipped: boolean }>(r));
    expect(reports.reduce((sum, r) => sum + r.tasks, 0)).toBe(300);
    expect(reports.every((r) => !r.skipped)).toBe(true);
    expect(await remaining()).toEqual({ tasks: 0, audit: 0, archived: 0 });

    const dry = await cli(['prune', '--older-than', '30d', '--dry-run'], dir, env);
    expect(dry.stdout).toContain('would remove 0 finished task(s)');
    const bad = await cli(['prune', '--older-than', 'a while'], dir, env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than expects a duration');
  });

  it("three workers' retention jobs share the work: one pruner at a time, every task reported once", async () => {
    const { dir, env, remaining } = await projectWithHistory(
      400,
      'retention:\n  complete: 30d\n  intervalMs: 1000\n  batchSize: 10\n',
    );
    const workers = [1, 2, 3].map(() => spawnCli(['worker'], dir, { ...env, TASKER_LOG_LEVEL: 'debug' }));
    for (let i = 0; i < 200 && (await remaining()).tasks > 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    for (const w of workers) w.child.kill('SIGTERM');
    const outputs = await Promise.all(workers.map((w) => w.result));
    expect(await remaining()).toEqual({ tasks: 0, audit: 0, archived: 0 });
    const lines = outputs.flatMap((o) =>
      o.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; tasks?: number; trigger?: string }),
    );
    const pruned = lines.filter((l) => l.trigger === 'retention' && /^pruned \d+ finished task/.test(l.msg));
    expect(pruned.reduce((sum, l) => sum + (l.tasks ?? 0), 0)).toBe(400);
  });

  it('archive mode: racing processes move each task once; list, show and archive read them back', async () => {
    const { dir, env, remaining } = await projectWithHistory(
      240,
      'retention:\n  complete: 30d\n  intervalMs: 1000\n  batchSize: 10\n  archive: { keepMonths: 6 }\n',
    );
    // Two workers' retention jobs and one prune by hand, all in archive mode, at once.
    const workers = [1, 2].map(() => spawnCli(['worker'], dir, env));
    const byHand = await cli(
      ['prune', '--older-than', '30d', '--archive', '--batch-size', '20', '--json'],
      dir,
      env,
    );
    expect(byHand.code, byHand.stderr).toBe(0);
    expect(json<{ mode: string }>(byHand).mode).toBe('archive');
    for (let i = 0; i < 200 && (await remaining()).tasks > 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((x) => x.result));
    expect(await remaining()).toEqual({ tasks: 0, audit: 0, archived: 240 });

    const listed = await cli(['list', '--tier', 'archived', '--limit', '500', '--json'], dir, env);
    expect(listed.code, listed.stderr).toBe(0);
    const tasks = json<{ tasks: Array<{ id: number; archivedAt: string | null }> }>(listed).tasks;
    expect(tasks).toHaveLength(240);
    expect(tasks.every((t) => t.archivedAt !== null)).toBe(true);
    expect((await cli(['list', '--json'], dir, env)).stdout).toContain('"tasks": []');
    // A page's "more:" hint repeats the filters, so following it continues this listing.
    const first = await cli(['list', '--tier', 'archived', '--namespace', 'demo', '--limit', '1'], dir, env);
    const hint = /^more: tasker (.+)$/m.exec(first.stdout)?.[1];
    expect(hint).toMatch(/^list --tier archived --namespace demo --limit 1 --cursor \S+$/);
    const next = await cli(hint!.split(' '), dir, env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(new RegExp(`^${tasks[1]!.id} `, 'm'));
    expect(first.stdout).toMatch(new RegExp(`^${tasks[0]!.id} `, 'm'));
    expect(next.stdout).toContain('more: tasker list --tier archived');
    const shown = await cli(['status', String(tasks[0]!.id)], dir, env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('archived');
    expect(shown.stdout).toContain('complete');
    const partitions = await cli(['archive'], dir, env);
    expect(partitions.code, partitions.stderr).toBe(0);
    expect(partitions.stdout).toMatch(/archived_tasks_\d{4}_\d{2}/);
    const badTier = await cli(['list', '--tier', 'cold'], dir, env);
    expect(badTier.code).toBe(2);
    expect(badTier.stderr).toContain('--tier: unknown tier "cold"');
  });
});
