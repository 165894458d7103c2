// Flow control across three `tasker worker` processes on PostgreSQL, measured from the handlers' own log
// (each process appends [key, start, end] per attempt to one file): a concurrency key's limit is never
// exceeded (limit 2, and limit 1 where a process leases a key's next steps in line); a rate limit is
// never exceeded over any window (burst + rate x window); a task-scoped key holds one task per customer
// from its first step to its end; and everything finishes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTasker, loadWorkflows, registerWorkflows } from '../../src/index.js';
import { databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL } from '../helpers.js';

interface Entry {
  readonly kind: string;
  readonly key: string;
  readonly task: number;
  readonly start: number;
  readonly end: number;
}

function maxOverlap(spans: ReadonlyArray<readonly [number, number]>): number {
  const events = spans.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let most = 0;
  for (const [, d] of events) {
    open += d!;
    most = Math.max(most, open);
  }
  return most;
}

const RATE = 20;
const BURST = 4;

describe.skipIf(!PG_URL)(
  'flow control with three worker processes on PostgreSQL',
  { timeout: 180_000 },
  () => {
    it('keys and rate limits hold across processes', async () => {
      const dir = tempProject({
        'tasker.config.yaml': [
          'workflows:',
          '  templatesDir: ./templates',
          '  handlersDir: ./handlers',
          'execution: { concurrency: 8, pollIntervalMs: 500 }',
          `rateLimits: { partner: { rate: ${RATE}, per: second, burst: ${BURST} } }`,
          '',
        ].join('\n'),
        'templates/keyed.yaml': [
          'name: keyed',
          'namespace_name: flow',
          'version: 1.0.0',
          'step_templates:',
          '  - name: work',
          '    handler: work',
          '    concurrency: { key: customerId, limit: 2 }',
          '',
        ].join('\n'),
        // Limit 1: a process that holds a key leases its next steps in line (migration 35).
        'templates/serial.yaml': [
          'name: serial',
          'namespace_name: flow',
          'version: 1.0.0',
          'step_templates:',
          '  - name: work',
          '    handler: work',
          '    concurrency: { key: customerId, limit: 1 }',
          '',
        ].join('\n'),
        'templates/onboarding.yaml': [
          'name: onboarding',
          'namespace_name: flow',
          'version: 1.0.0',
          'concurrency: { key: customerId, limit: 1, scope: task }',
          'step_templates:',
          '  - { name: first, handler: work }',
          '  - { name: second, handler: work, depends_on_step: first }',
          '',
        ].join('\n'),
        'templates/limited.yaml': [
          'name: limited',
          'namespace_name: flow',
          'version: 1.0.0',
          'step_templates:',
          '  - name: call',
          '    handler: work',
          '    rate_limits: [partner]',
          '',
        ].join('\n'),
        'handlers/work.ts': [
          "import { appendFileSync } from 'node:fs';",
          'export const work = async ({ context, task }) => {',
          '  const start = Date.now();',
          '  await new Promise((r) => setTimeout(r, context.ms ?? 20));',
          '  const entry = { kind: task.name, key: String(context.customerId ?? ""), task: task.id, start, end: Date.now() };',
          "  appendFileSync(process.env.FLOW_LOG, JSON.stringify(entry) + '\\n');",
          '  return null;',
          '};',
          '',
        ].join('\n'),
      });
      const log = join(dir, 'flow.log');
      const base = databaseEnv('postgres', dir);
      const env = { ...base, FLOW_LOG: log };

      let claimTimes: number[] = [];
      // The tasks exist before the workers start, so that all three race for them from the first claim.
      const tasker = await createTasker({
        database: { url: PG_URL!, schema: base.TASKER_DATABASE_SCHEMA!, maxConnections: 2 },
        rateLimits: { partner: { rate: RATE, per: 'second', burst: BURST } },
      });
      try {
        registerWorkflows(
          tasker,
          await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd: dir }),
        );
        const requests = [
          ...Array.from({ length: 60 }, (_, i) => ({
            namespace: 'flow',
            name: 'keyed',
            context: { customerId: `c${i % 4}`, ms: 40 },
          })),
          ...Array.from({ length: 40 }, (_, i) => ({
            namespace: 'flow',
            name: 'serial',
            context: { customerId: `s${i % 2}`, ms: 15 },
          })),
          ...Array.from({ length: 16 }, (_, i) => ({
            namespace: 'flow',
            name: 'onboarding',
            context: { customerId: `o${i % 4}`, ms: 15 },
          })),
          ...Array.from({ length: 50 }, () => ({ namespace: 'flow', name: 'limited', context: { ms: 5 } })),
        ];
        const created = await tasker.createTasks(requests);

        const workers = [1, 2, 3].map(() => spawnCli(['worker'], dir, env));
        await Promise.all(workers.map((w) => w.waitFor('started')));
        for (const t of created) {
          expect((await tasker.waitForTask(t.id, { timeoutMs: 90_000 })).state).toBe('complete');
        }
        for (const w of workers) w.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.result));
        const { rows } = await tasker.database.query<{ at: Date }>(
          `SELECT s.last_attempted_at AS at FROM "${base.TASKER_DATABASE_SCHEMA}".steps s
         JOIN "${base.TASKER_DATABASE_SCHEMA}".named_tasks nt ON nt.id = s.named_task_id WHERE nt.name = 'limited'`,
        );
        claimTimes = rows.map((r) => new Date(r.at).getTime());
      } finally {
        await tasker.close();
      }

      const entries = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Entry);
      expect(entries.filter((e) => e.kind === 'keyed')).toHaveLength(60);
      expect(entries.filter((e) => e.kind === 'serial')).toHaveLength(40);
      expect(entries.filter((e) => e.kind === 'onboarding')).toHaveLength(32);
      expect(entries.filter((e) => e.kind === 'limited')).toHaveLength(50);

      // Step-scoped key, limit 2: never more than 2 at once per customer (and the limit was reached).
      const keyed = new Map<string, Array<[number, number]>>();
      for (const e of entries.filter((x) => x.kind === 'keyed')) {
        keyed.set(e.key, [...(keyed.get(e.key) ?? []), [e.start, e.end]]);
      }
      const keyedMax = [...keyed.values()].map(maxOverlap);
      expect(Math.max(...keyedMax)).toBe(2);

      // Step-scoped key, limit 1 (steps leased in line included): one at a time per customer.
      const serial = new Map<string, Array<[number, number]>>();
      for (const e of entries.filter((x) => x.kind === 'serial')) {
        serial.set(e.key, [...(serial.get(e.key) ?? []), [e.start, e.end]]);
      }
      for (const spans of serial.values()) expect(maxOverlap(spans)).toBe(1);

      // Task-scoped key, limit 1: per customer, one task's span (first step start to last step end) at a time.
      const taskSpans = new Map<number, { key: string; start: number; end: number }>();
      for (const e of entries.filter((x) => x.kind === 'onboarding')) {
        const span = taskSpans.get(e.task);
        taskSpans.set(e.task, {
          key: e.key,
          start: Math.min(span?.start ?? e.start, e.start),
          end: Math.max(span?.end ?? e.end, e.end),
        });
      }
      const byCustomer = new Map<string, Array<[number, number]>>();
      for (const s of taskSpans.values())
        byCustomer.set(s.key, [...(byCustomer.get(s.key) ?? []), [s.start, s.end]]);
      for (const spans of byCustomer.values()) expect(maxOverlap(spans)).toBe(1);

      // Rate limit, on the bucket's own clock (the claim transaction's time, which is each step's
      // last_attempted_at): over any window W, at most burst + rate x W starts.
      const claimed = claimTimes.slice().sort((a, b) => a - b);
      expect(claimed).toHaveLength(50);
      const withinBucket = (times: number[], slackMs: number) => {
        for (const windowMs of [100, 250, 500, 1000]) {
          for (const from of times) {
            const n = times.filter((t) => t >= from && t < from + windowMs).length;
            expect(n, `${n} starts within ${windowMs} ms`).toBeLessThanOrEqual(
              BURST + Math.floor((RATE * (windowMs + slackMs)) / 1000),
            );
          }
        }
      };
      withinBucket(claimed, 0);
      // And in the handlers' own log, allowing 150 ms between a claim and its handler's first line (three
      // processes and the database share two cores).
      const starts = entries
        .filter((x) => x.kind === 'limited')
        .map((e) => e.start)
        .sort((a, b) => a - b);
      withinBucket(starts, 150);
      // And the limit was the bottleneck: 50 starts need at least (50 - burst) / rate seconds.
      expect(claimed.at(-1)! - claimed[0]!).toBeGreaterThanOrEqual(((50 - BURST) / RATE) * 1000 - 10);
    });
  },
);
