// The observability stack of deploy/, with the real tools that run here (Docker itself does not, so the
// image and the compose file are checked statically in images.test.ts):
// - promtool checks the Prometheus config and rules and runs the rules' unit tests;
// - a real `tasker serve --no-worker` and a real `tasker worker --port` (child processes, PostgreSQL) run a
//   workload; the worker's probes answer; every metric the Grafana dashboard queries is exported by them;
// - a real Prometheus (Debian's package) scrapes both processes and evaluates a recording rule.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { databaseEnv, REPO, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL } from '../helpers.js';

const DEPLOY = join(REPO, 'deploy');
const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, get: () => Promise<T | null | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await get();
      if (value !== null && value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Metric names a PromQL expression uses: identifiers starting tasker_ (recording rules use tasker:). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(tasker_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** The exported family of a sample name (histograms export _bucket, _sum and _count). */
function family(name: string, exported: Set<string>): string | undefined {
  if (exported.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return exported.has(base) ? base : undefined;
}

describe('deploy/prometheus with promtool', () => {
  it.skipIf(!hasPromtool)('the config is valid, the rules are valid and their unit tests pass', () => {
    const run = (args: string[]) =>
      execFileSync('promtool', args, { cwd: join(DEPLOY, 'prometheus'), encoding: 'utf8' });
    expect(run(['check', 'config', 'prometheus.yml'])).toContain('SUCCESS');
    expect(run(['check', 'rules', 'rules.yml'])).toContain('SUCCESS');
    expect(run(['test', 'rules', 'rules.test.yml'])).toContain('SUCCESS');
  });
});

const TEMPLATE = `
name: stacked
namespace_name: demo
version: 1.0.0
step_templates:
  - name: first
    handler: ok
  - name: second
    depends_on_step: first
    handler: ok
`;
const HANDLERS = `export function ok() { return { ok: true }; }\n`;

describe.skipIf(!PG_URL)('the stack against real processes', { timeout: 240_000 }, () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('worker probes answer, the dashboard uses only exported metrics, Prometheus scrapes both processes', async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/stacked.yaml': TEMPLATE,
      'handlers/demo.ts': HANDLERS,
    });
    const env = { ...databaseEnv('postgres', dir), TASKER_LOG_LEVEL: 'warn' };
    const apiPort = await freePort();
    const workerPort = await freePort();
    const api = spawnCli(['serve', '--no-worker', '--port', String(apiPort)], dir, env);
    await api.waitFor('Tasker API on');
    const worker = spawnCli(['worker', '--port', String(workerPort), '--concurrency', '4'], dir, env);
    await worker.waitFor('probes ');
    const apiBase = `http://127.0.0.1:${apiPort}/tasker`;
    const workerBase = `http://127.0.0.1:${workerPort}/tasker`;

    // The worker's probes.
    expect((await fetch(`${workerBase}/health/live`)).status).toBe(200);
    const ready = await fetch(`${workerBase}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, { status: string }> }).checks).toMatchObject({
      worker: { status: 'ok' },
      database: { status: 'ok' },
    });
    expect((await fetch(`${workerBase}/tasks`)).status).toBe(404);

    // A workload through the API, run by the worker process.
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${apiBase}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: 'demo', name: 'stacked', context: { i } }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: number }).id);
    }
    for (const id of ids) {
      await until(`task ${id} complete`, async () => {
        const task = (await (await fetch(`${apiBase}/tasks/${id}`)).json()) as { state: string };
        return task.state === 'complete' ? task : null;
      });
    }

    const apiMetrics = await (await fetch(`${apiBase}/metrics`)).text();
    const workerMetrics = await (await fetch(`${workerBase}/metrics`)).text();
    // The worker counted the steps it ran; the cluster gauges are the same in both processes.
    for (const step of ['first', 'second']) {
      expect(workerMetrics).toMatch(
        new RegExp(`tasker_step_outcomes_total\\{[^}]*step="${step}",outcome="completed"[^}]*\\} 5`),
      );
    }
    expect(apiMetrics).toMatch(/tasker_tasks_created_total\{[^}]*\} 5/);
    for (const text of [apiMetrics, workerMetrics]) {
      expect(text).toMatch(/tasker_tasks\{[^}]*state="complete"[^}]*\} 5/);
      expect(text).toMatch(/tasker_steps\{[^}]*state="complete"[^}]*\} 10/);
      expect(text).toContain('tasker_steps_reclaimed_total');
    }

    // Every metric of every dashboard panel is exported by a Tasker process.
    const exported = new Set(
      `${apiMetrics}\n${workerMetrics}`
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]!),
    );
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana/tasker-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    const missing: string[] = [];
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const names = metricNames(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) if (!family(name, exported)) missing.push(`${panel.title}: ${name}`);
      }
    }
    expect(missing).toEqual([]);

    // So does every metric an alert or recording rule reads (the rules file ships in the package).
    const rules = parse(readFileSync(join(DEPLOY, 'prometheus/rules.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
    };
    const ruleMissing = rules.groups
      .flatMap((g) => g.rules)
      .flatMap((r) => metricNames(r.expr).map((name) => ({ rule: r.alert ?? r.record, name })))
      .filter(({ name }) => !family(name, exported))
      .map(({ rule, name }) => `${rule}: ${name}`);
    expect(ruleMissing).toEqual([]);

    // A real Prometheus scrapes both processes and evaluates the recording rules.
    if (!hasPromtool) return; // promtool and prometheus come from the same Debian package
    const promDir = mkdtempSync(join(tmpdir(), 'tasker-prom-'));
    const promPort = await freePort();
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(DEPLOY, 'prometheus/rules.yml')}']`,
        'scrape_configs:',
        '  - job_name: tasker-api',
        '    metrics_path: /tasker/metrics',
        `    static_configs: [{ targets: ['127.0.0.1:${apiPort}'] }]`,
        '  - job_name: tasker-worker',
        '    metrics_path: /tasker/metrics',
        `    static_configs: [{ targets: ['127.0.0.1:${workerPort}'] }]`,
        '',
      ].join('\n'),
    );
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    children.push(prometheus);
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    };
    const up = await until('both targets up', async () => {
      const result = await query('up');
      return result.length === 2 && result.every((r) => r.value[1] === '1') ? result : null;
    });
    expect(up.map((r) => r.metric.job).sort()).toEqual(['tasker-api', 'tasker-worker']);
    const created = await until('tasks created scraped', async () => {
      const result = await query('sum(tasker_tasks_created_total)');
      return result[0] ? Number(result[0].value[1]) : null;
    });
    expect(created).toBe(5);
    const byState = await until('the recording rule evaluated', async () => {
      const result = await query('tasker:tasks_by_state{state="complete"}');
      return result[0] ? Number(result[0].value[1]) : null;
    });
    expect(byState).toBe(5);
    prometheus.kill('SIGTERM');

    worker.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    expect((await worker.result).code).toBe(0);
    expect((await api.result).code).toBe(0);
  });
});
