/**
 * The benchmark harness at a tiny scale on every available backend: it completes, and its report has the
 * expected shape with counts that match the sizes asked for. No timing thresholds: speed is what the
 * benchmark itself reports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { BackendName } from '../../src/bench/backend.js';
import { benchScript } from '../../src/bench/child-processes.js';
import { main } from '../../src/bench/cli.js';
import { countingDatabase } from '../../src/bench/counting-database.js';
import { renderReport, writeReport } from '../../src/bench/report.js';
import { type BenchReport, runBench } from '../../src/bench/runner.js';
import { SECTIONS } from '../../src/bench/sections.js';
import { percentile } from '../../src/bench/stats.js';
import type { Database, QueryResult } from '../../src/db/database.js';

const PG_URL = process.env.TASKER_TEST_DATABASE_URL;
const BACKENDS: BackendName[] = PG_URL ? ['pg', 'pglite'] : ['pglite'];
const SCALE = 0.005;
const PGLITE_SCALE = 0.1;

/** What each section was asked to size, as the sections compute it. */
const scaled = (backend: BackendName, n: number, minimum: number) =>
  Math.max(minimum, Math.round(n * SCALE * (backend === 'pglite' ? PGLITE_SCALE : 1)));

describe('npm run bench at a tiny scale', () => {
  it('runs every section on every backend and reports consistent counts', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    const report = await runBench({
      sections: SECTIONS,
      backends: BACKENDS,
      runs: 1,
      scale: SCALE,
      pgliteScale: PGLITE_SCALE,
      concurrency: 10,
      prefetch: 10,
      workers: 2,
      databaseUrl: PG_URL ?? 'postgres://unused',
      poolSize: 4,
      timeoutMs: 300_000,
      log: (line) => lines.push(line),
    });
    const failures = report.backends.flatMap((b) => [
      ...(b.error ? [b.error] : []),
      ...b.sections.flatMap((s) =>
        s.runs.flatMap((r) => (r.error ? [`${b.backend} ${s.key}: ${r.error}`] : [])),
      ),
    ]);
    expect(failures).toEqual([]);
    expect(report.ok).toBe(true);

    // The JSON written is the report, intact.
    const dir = mkdtempSync(join(tmpdir(), 'tasker-bench-'));
    try {
      const path = writeReport(report, dir);
      const json = JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
      expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    expect(report.backends.map((b) => b.backend)).toEqual(BACKENDS);
    for (const backend of report.backends) {
      const b = backend.backend;
      expect(backend.sections.map((s) => s.key)).toEqual(
        SECTIONS.filter((s) => !s.backends || s.backends.includes(b)).map((s) => s.key),
      );
      const section = (key: string) => backend.sections.find((s) => s.key === key)!;
      const details = (key: string) =>
        section(key).runs[0]!.details as Record<string, Record<string, number>>;

      // Every workload ran exactly N × steps-per-task steps.
      const w1 = scaled(b, 20_000, 10);
      expect(details('a').w1).toMatchObject({ tasks: w1, steps: w1, stepRuns: w1 });
      expect(details('a').w1d).toMatchObject({ tasks: w1, steps: w1, stepRuns: w1 });
      const w2 = scaled(b, 2_000, 4);
      expect(details('b').w2).toMatchObject({
        tasks: w2,
        steps: 3 * w2,
        stepRuns: 3 * w2,
        handoffSamples: 2 * w2,
      });
      const w3 = scaled(b, 1_000, 4);
      expect(details('c').w3).toMatchObject({
        tasks: w3,
        steps: 4 * w3,
        joinSamples: w3,
        fanoutSamples: 2 * w3,
      });
      const w2s = scaled(b, 100, 2);
      // One finish_steps round trip per step: each outcome alone, the next step started in it.
      expect(details('d').w2s).toMatchObject({
        tasks: w2s,
        stepRuns: 3 * w2s,
        handoffSamples: 2 * w2s,
        finishRoundTrips: 3 * w2s,
      });

      // Scale-out (PostgreSQL only): 1, 2 and 4 worker processes each drained every task; the one-process
      // W1d run's tasks were then pruned, all of them, and the two-process run's archived.
      if (b === 'pg') {
        type Retired = {
          mode: string;
          tasks: number;
          schemaBytesBefore: number;
          schemaBytesAfterVacuum: number;
        };
        const scale = details('scale') as unknown as Record<string, { tasks: number; processes: number }> & {
          prune: Retired;
          archive: Retired;
        };
        for (const p of [1, 2, 4]) {
          expect(scale[`w1d_${p}p`]).toMatchObject({ tasks: w1, processes: p });
          expect(scale[`w3_${p}p`]).toMatchObject({ tasks: scaled(b, 5_000, 4), processes: p });
        }
        expect(scale.prune).toMatchObject({ mode: 'delete', tasks: w1 });
        expect(scale.archive).toMatchObject({ mode: 'archive', tasks: w1 });
        const grow = details('grow') as unknown as { tasks: number; stepRuns: number };
        expect(grow.stepRuns).toBe(grow.tasks);
        expect(grow.tasks).toBe(20 + 2 * w1 + scaled(b, 100_000, 20));
        expect(scale.prune.schemaBytesAfterVacuum).toBeLessThanOrEqual(scale.prune.schemaBytesBefore);
      }

      // Flow control: each workload ran every task (runWorkload checks the step count).
      const flow = details('flow');
      for (const k of ['plain', 'keyed', 'limited']) expect(flow[k]!.tasks).toBe(w1);
      expect(flow.hot!.tasks).toBe(scaled(b, 2_000, 10));
      // A key's hand-off is measured between each two of its steps: every step but each key's first.
      const hotTasks = scaled(b, 2_000, 10);
      const hotKeys = Math.min(100, Math.ceil(hotTasks / 2));
      expect((flow.hot as unknown as { keyHandoffs: number }).keyHandoffs).toBe(hotTasks - hotKeys);
      expect(flow.slots!.tasks).toBe(scaled(b, 2_000, 10));

      // Dynamic workflows: every worker step ran, every parent got its child's results.
      const fanout = details('fanout') as unknown as {
        tasks: number;
        items: number;
        workerRuns: number;
        converged: number;
      };
      expect(fanout.workerRuns).toBe(fanout.tasks * fanout.items);
      expect(fanout.converged).toBe(fanout.tasks);
      const children = details('children') as unknown as { parents: number; finished: number };
      expect(children.finished).toBe(children.parents);

      // The history really holds the finished tasks asked for (plus the model task it was cloned from).
      const e = section('e').runs[0]!.details as {
        historyTasks: number;
        empty: { tasks: number; stepRuns: number };
        history: { tasks: number; stepRuns: number };
        chains: { empty: { samples: number }; history: { samples: number } };
      };
      expect(e.historyTasks).toBe(scaled(b, 1_000_000, 1000) + 1);
      // Every chain handed off twice, on both schemas.
      expect(e.chains.empty.samples).toBe(2 * scaled(b, 2_000, 10));
      expect(e.chains.history.samples).toBe(2 * scaled(b, 2_000, 10));
      expect(e.empty.stepRuns).toBe(e.empty.tasks);
      expect(e.history.stepRuns).toBe(e.history.tasks);

      // The status paths were measured on both schemas, whose counts are the tasks each holds.
      const status = section('status').runs[0]!.details as {
        historyTasks: number;
        empty: { tasksByState: Record<string, number> };
        history: { tasksByState: Record<string, number> };
      };
      expect(status.historyTasks).toBe(scaled(b, 1_000_000, 1000) + 1);
      // The schema without the big history holds 100 clones of one model task that ran, so 101 complete.
      expect(status.empty.tasksByState).toEqual({ pending: 100, complete: 101 });
      expect(status.history.tasksByState).toEqual({ pending: 100, complete: status.historyTasks });

      // Rows written: every task and step inserted once, two audit rows per step (start and end).
      const f = section('f').runs[0]!.details as Record<
        string,
        { tasks: number; steps: number; rowsByTable: Record<string, { inserted: number }> }
      >;
      for (const shape of ['single', 'chain3', 'diamond']) {
        const c = f[shape]!;
        expect(c.rowsByTable.tasks?.inserted).toBe(c.tasks);
        expect(c.rowsByTable.steps?.inserted).toBe(c.steps);
        expect(c.rowsByTable.step_transitions?.inserted).toBeGreaterThanOrEqual(2 * c.steps);
      }

      // The HTTP section measured both routes; the telemetry section both settings of both workloads.
      const http = section('http').runs[0]!.details as { results: Array<{ name: string }> };
      expect(http.results.map((r) => r.name)).toEqual(['http create-task', 'http get-task']);
      expect(section('telemetry').summary.map((m) => m.id)).toEqual([
        'telemetry.w1_on_per_s',
        'telemetry.w1_off_per_s',
        'telemetry.w1_overhead_pct',
        'telemetry.w1_cpu_on_us',
        'telemetry.w1_cpu_off_us',
        'telemetry.w2_on_per_s',
        'telemetry.w2_off_per_s',
        'telemetry.w2_overhead_pct',
        'telemetry.w2_cpu_on_us',
        'telemetry.w2_cpu_off_us',
      ]);

      // Every metric has a value; rates are positive; latencies are not negative.
      for (const s of backend.sections) {
        for (const m of s.summary) {
          expect(m.median, `${b} ${m.id}`).not.toBeNull();
          expect(m.values).toHaveLength(1);
          if (m.unit.endsWith('/s')) expect(m.median!, `${b} ${m.id}`).toBeGreaterThan(0);
          if (m.unit === 'ms') expect(m.median!).toBeGreaterThanOrEqual(0);
          if (m.unit === 'µs') expect(m.median!, `${b} ${m.id}`).toBeGreaterThan(0);
        }
      }
      // Targets are judged on PostgreSQL only; peers' figures are attached where they were published.
      const summary = backend.sections.flatMap((s) => s.summary);
      const w1Rate = summary.find((m) => m.id === 'w1.tasks_per_s')!;
      expect(w1Rate.peers.length).toBeGreaterThan(0);
      expect(w1Rate.target !== null).toBe(b === 'pg');
      expect(w1Rate.met === null).toBe(b !== 'pg');
    }
    const text = renderReport(report);
    expect(text).toContain('w2s hand-off p50');
    expect(text).toContain('w2s finish_steps round trip p50');
    expect(text).toContain('graphile-worker');
    expect(lines.length).toBeGreaterThan(0);
  });
});

describe('bench helpers', () => {
  it('refuses bad options with exit code 2 and lists the sections', async () => {
    const errors: string[] = [];
    const printed: string[] = [];
    const spies = [
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => errors.push(String(chunk)) > 0),
      vi.spyOn(console, 'log').mockImplementation((line) => void printed.push(String(line))),
    ];
    try {
      expect(await main(['--only', 'a,zz'])).toBe(2);
      expect(errors.join('')).toContain('unknown section(s) "zz"');
      expect(await main(['--scale', '-1'])).toBe(2);
      expect(await main(['--backend', 'mysql'])).toBe(2);
      expect(await main(['--list'])).toBe(0);
      expect(printed.map((l) => l.split(' ')[0])).toEqual(SECTIONS.map((s) => s.key));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('a side-by-side child refuses a bad request, naming each field, before opening anything', () => {
    const run = (arg: string) =>
      spawnSync(process.execPath, [benchScript('workload-child.js'), arg], { encoding: 'utf8', input: '' });
    const notJson = run('{not json');
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toContain("usage: workload-child.js '<json request>'");
    const bad = run(
      JSON.stringify({
        backend: 'mysql',
        poolSize: 0,
        spec: { shape: 'star', mode: 'online', tasks: 10, concurrency: 1.5, workers: 1, timeoutMs: 1000 },
      }),
    );
    expect(bad.status).toBe(1);
    for (const problem of [
      'backend: expected "pg" or "pglite"',
      'poolSize: expected a positive integer',
      'spec.shape: expected one of single, chain3, diamond',
      'spec.concurrency: expected a positive integer',
    ])
      expect(bad.stderr).toContain(problem);
    expect(bad.stderr).not.toContain('spec.tasks');
    expect(bad.stdout).not.toContain('ready');
  });

  it('takes percentiles by nearest rank, as the peers do', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 95)).toBe(10);
    expect(percentile([], 50)).toBeNull();
  });

  it('counts round trips by kind, transactions included', async () => {
    // The wrapper only sees the interface, so a recording stand-in is enough here.
    const seen: string[] = [];
    const empty = async <Row>(text: string): Promise<QueryResult<Row>> => {
      seen.push(text);
      return { rows: [], rowCount: 0 };
    };
    const inner: Database = {
      kind: 'pglite',
      maxConnections: 1,
      query: empty,
      exec: async () => {},
      transaction: (fn) => fn({ query: empty, exec: async () => {} }),
      listen: async () => async () => {},
      poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
      close: async () => {},
    };
    const db = countingDatabase(inner);
    try {
      await db.query('SELECT 1');
      await db.transaction(async (tx) => {
        await tx.query('SELECT 2');
        await tx.query('SELECT 3');
      });
      await db.query('SELECT * FROM "s".claim_steps($1, $2, $3)');
      await db.query('SELECT * FROM "s".finish_steps($1, $2, $3, $4)');
      expect(db.counts()).toMatchObject({ other: 5, transactionControl: 2, claim: 1, finish: 1 });
      expect(db.total()).toBe(7);
      expect(db.dispatchDurations().claim).toHaveLength(1);
      expect(seen).toHaveLength(5);
      db.reset();
      expect(db.total()).toBe(0);
    } finally {
      await db.close();
    }
  });
});
