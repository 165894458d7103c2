/**
 * Sections beyond the engine's workloads: the HTTP API (requests per second and latency of create-task and
 * get-task over a real socket) and the cost of telemetry (the same workloads with metrics, tracing and log
 * context on, as by default, and off, run at the same moment in two processes).
 */
import { runHttpBench } from '../http-bench.js';
import { type BenchSection, type Metric, metric } from '../section.js';
import { runSideBySide } from './side-by-side.js';

/** Throughput lost to telemetry, in percent of the throughput without it. */
const overheadPct = (on: number, off: number) => (off > 0 ? ((off - on) / off) * 100 : null);

export const telemetrySection: BenchSection = {
  key: 'telemetry',
  title: 'telemetry on vs off',
  description:
    'w1 (10,000 single-step tasks) and w2 (5,000 chains) created one at a time while workers run, with telemetry on (the default: metrics and the step context of ctx.log) and off, both at once: two child processes on their own schemas, so that both see the same moments of the machine; which one starts first alternates by run; throughput and the process CPU per task',
  async run(ctx) {
    const metrics: Metric[] = [];
    for (const [shape, n, id] of [
      ['single', ctx.scaled(10_000, 10), 'w1'],
      ['chain3', ctx.scaled(5_000, 4), 'w2'],
    ] as const) {
      ctx.log(`${shape} online, telemetry on and off side by side: ${n} tasks each`);
      const spec = (enabled: boolean) => ({
        label: `${id} telemetry ${enabled ? 'on' : 'off'}`,
        spec: {
          shape,
          mode: 'online' as const,
          tasks: n,
          concurrency: ctx.concurrency,
          workers: ctx.workers,
          timeoutMs: ctx.timeoutMs,
          taskerOptions: { telemetry: { enabled } },
        },
      });
      const results = await runSideBySide(
        ctx,
        [spec(true), spec(false)],
        ctx.run % 2 === 1 ? [0, 1] : [1, 0],
      );
      const on = results[0]!;
      const off = results[1]!;
      metrics.push(
        metric(`telemetry.${id}_on_per_s`, `${id} telemetry on`, 'tasks/s', on.tasksPerS, 'higher'),
        metric(`telemetry.${id}_off_per_s`, `${id} telemetry off`, 'tasks/s', off.tasksPerS, 'higher'),
        metric(
          `telemetry.${id}_overhead_pct`,
          `${id} throughput lost to telemetry`,
          '%',
          overheadPct(on.tasksPerS, off.tasksPerS),
          'lower',
        ),
        metric(
          `telemetry.${id}_cpu_on_us`,
          `${id} process CPU per task, telemetry on`,
          'µs',
          on.processCpuUsPerTask,
          'lower',
        ),
        metric(
          `telemetry.${id}_cpu_off_us`,
          `${id} process CPU per task, telemetry off`,
          'µs',
          off.processCpuUsPerTask,
          'lower',
        ),
      );
    }
    return { metrics };
  },
};

export const httpSection: BenchSection = {
  key: 'http',
  title: 'HTTP API',
  description:
    'create-task (POST /tasker/tasks) and get-task (GET /tasker/tasks/:id) against a listening server, 10 connections for 5 s each (autocannon); no worker runs',
  async run(ctx) {
    const durationSeconds = Math.max(1, Math.round(5 * Math.min(1, ctx.scale * 10)));
    ctx.log(`HTTP routes, ${durationSeconds} s each`);
    const results = await runHttpBench({
      ...(ctx.databaseUrl ? { databaseUrl: ctx.databaseUrl } : {}),
      durationSeconds,
      connections: 10,
    });
    const metrics: Metric[] = [];
    for (const r of results) {
      const id = r.name.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
      metrics.push(
        metric(`http.${id}.rps`, `${r.name} requests`, 'req/s', r.requestsPerSecond, 'higher'),
        metric(`http.${id}.p50_ms`, `${r.name} latency p50`, 'ms', r.p50Ms, 'lower'),
        metric(`http.${id}.p99_ms`, `${r.name} latency p99`, 'ms', r.p99Ms, 'lower'),
      );
    }
    return { metrics, details: { results } };
  },
};
