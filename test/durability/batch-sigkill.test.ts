// A batch across three `tasker worker` processes on PostgreSQL, one killed with SIGKILL in the middle:
// its worker steps are taken back after the lease, resume from their last checkpoints (at most the page
// in flight is done again), and the batch completes with every item's result recorded once, in order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTasker, loadWorkflows, registerWorkflows } from '../../src/index.js';
import { databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL, sleep } from '../helpers.js';

const ITEMS = 6;
const PAGES = 8;

describe.skipIf(!PG_URL)(
  'a batch when a worker process is killed (PostgreSQL, three processes)',
  { timeout: 180_000 },
  () => {
    it('workers resume from their checkpoints and each item is recorded once', async () => {
      const dir = tempProject({
        'tasker.config.yaml': [
          'workflows:',
          '  templatesDir: ./templates',
          '  handlersDir: ./handlers',
          'execution: { concurrency: 2, leaseMs: 2000, heartbeatIntervalMs: 300, pollIntervalMs: 300 }',
          '',
        ].join('\n'),
        'templates/crawl.yaml': [
          'name: crawl',
          'namespace_name: batch',
          'version: 1.0.0',
          'step_templates:',
          '  - name: plan',
          '    kind: batch',
          '    handler: plan',
          '    batch: { handler: crawl_pages, retry_limit: 5 }',
          '  - { name: total, handler: total, depends_on_step: plan }',
          '',
        ].join('\n'),
        'handlers/crawl.ts': [
          "import { appendFileSync } from 'node:fs';",
          `export const plan = () => ({ items: Array.from({ length: ${ITEMS} }, (_, i) => ({ item: i })) });`,
          'export const crawl_pages = async ({ inputs, lastCheckpoint, checkpoint, attempt }) => {',
          '  const from = lastCheckpoint?.next ?? 0;',
          "  appendFileSync(process.env.BATCH_LOG, JSON.stringify({ kind: 'start', item: inputs.item, attempt, from, pid: process.pid }) + '\\n');",
          `  for (let page = from; page < ${PAGES}; page++) {`,
          '    await new Promise((r) => setTimeout(r, 120));',
          "    appendFileSync(process.env.BATCH_LOG, JSON.stringify({ kind: 'page', item: inputs.item, page, pid: process.pid }) + '\\n');",
          '    await checkpoint({ next: page + 1 });',
          '  }',
          `  return { item: inputs.item, pages: ${PAGES} };`,
          '};',
          'export const total = ({ parents }) => parents.plan.reduce((n, r) => n + r.pages, 0);',
          '',
        ].join('\n'),
      });
      const log = join(dir, 'batch.log');
      const base = databaseEnv('postgres', dir);
      const env = { ...base, BATCH_LOG: log };
      const tasker = await createTasker({
        database: { url: PG_URL!, schema: base.TASKER_DATABASE_SCHEMA!, maxConnections: 2 },
      });
      try {
        registerWorkflows(
          tasker,
          await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd: dir }),
        );
        const workers = [1, 2, 3].map(() => spawnCli(['worker'], dir, env));
        await Promise.all(workers.map((w) => w.waitFor('started')));
        const created = await tasker.createTask({ namespace: 'batch', name: 'crawl' });

        // Kill the first process once it has done a few pages of some item.
        const victim = workers[0]!.child.pid!;
        for (;;) {
          const lines = (() => {
            try {
              return readFileSync(log, 'utf8').trim().split('\n');
            } catch {
              return [];
            }
          })();
          if (lines.filter((l) => l.includes(`"pid":${victim}`) && l.includes('"page"')).length >= 3) break;
          await sleep(30);
        }
        workers[0]!.child.kill('SIGKILL');

        const done = await tasker.waitForTask(created.id, { timeoutMs: 120_000 });
        expect(done.state).toBe('complete');
        const planStep = done.steps.find((s) => s.name === 'plan')!;
        expect(planStep.results).toEqual(
          Array.from({ length: ITEMS }, (_, i) => ({ item: i, pages: PAGES })),
        );
        expect(done.steps.find((s) => s.name === 'total')!.results).toBe(ITEMS * PAGES);

        for (const w of workers.slice(1)) w.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.result));
      } finally {
        await tasker.close();
      }

      const entries = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              kind: string;
              item: number;
              page?: number;
              attempt?: number;
              from?: number;
              pid: number;
            },
        );
      // Some item was resumed by another process from a checkpoint past 0.
      const resumed = entries.filter((e) => e.kind === 'start' && (e.from ?? 0) > 0);
      expect(resumed.length).toBeGreaterThan(0);
      for (let item = 0; item < ITEMS; item++) {
        const pages = entries.filter((e) => e.kind === 'page' && e.item === item).map((e) => e.page!);
        // Every page done; at most the page in flight when the process died done twice.
        expect(new Set(pages).size).toBe(PAGES);
        expect(pages.length - PAGES).toBeLessThanOrEqual(1);
      }
    });
  },
);
