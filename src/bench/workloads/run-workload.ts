/**
 * Runs one workload the way the peers' harness does (../shared/peers/RESULTS.md, "Method"):
 * - online: workers run first (untimed); t0 is the first createTask call; tasks are created one call
 *   each with 20 calls in flight;
 * - predrain: every task is created first with bulk createTasks (untimed), then t0, then workers start;
 * - serial: one task at a time, the next created only after the last one's final step ran.
 * The end is the first moment when the final step of every task has run and the database shows every
 * task complete (polled every 5 ms on the harness's own connection).
 */
import type { TaskerOptions } from '../../config/options.js';
import type { Tasker } from '../../tasker.js';
import type { Worker } from '../../worker/worker.js';
import type { RunEnv } from '../backend.js';
import type { RoundTripCounts } from '../counting-database.js';
import { BenchError } from '../errors.js';
import { type BenchFlow, benchTemplate } from './templates.js';
import { type HandoffStats, type Shape, STEPS_PER_TASK, Tracker } from './tracker.js';

export const MODES = ['online', 'predrain', 'serial'] as const;
export type Mode = (typeof MODES)[number];

export interface WorkloadSpec {
  readonly shape: Shape;
  readonly mode: Mode;
  readonly tasks: number;
  /** Steps each worker runs at once. */
  readonly concurrency: number;
  /** Steps each worker claims beyond `concurrency` (execution.prefetch). @defaultValue 0 */
  readonly prefetch?: number;
  /** Workers started in this process. */
  readonly workers: number;
  /** createTask calls in flight (online mode). @defaultValue 20 */
  readonly inflight?: number;
  /** Give up after this long. */
  readonly timeoutMs: number;
  /**
   * Extra createTasker options (e.g. a telemetry switch, to compare on and off); the run's schema and
   * the worker concurrency are set by the harness.
   */
  readonly taskerOptions?: TaskerOptions;
  /** Called once the tasker exists, before anything is created (e.g. to reset counters). */
  readonly onReady?: (tasker: Tasker) => void | Promise<void>;
  /** Flow control on the single step (section flow). */
  readonly flow?: BenchFlow;
}

export interface WorkloadResult {
  readonly tasks: number;
  readonly steps: number;
  readonly stepRuns: number;
  readonly elapsedS: number;
  /** Time spent creating tasks: within the timed span (online, serial) or before it (predrain). */
  readonly enqueueS: number;
  readonly tasksPerS: number;
  readonly stepsPerS: number;
  readonly handoff: HandoffStats;
  readonly join: HandoffStats;
  /** Flow runs with keys and slow steps: how long a key's slot stood empty between two of its steps. */
  readonly keyHandoff: HandoffStats;
  /**
   * CPU time of this process (engine, workers and harness) over the timed span, in µs per task: what a
   * change costs in the process, steadier than throughput on a machine where PostgreSQL shares the cores.
   */
  readonly processCpuUsPerTask: number;
  /** Mean steps in flight from the first step's start to the last one's end (see Tracker). */
  readonly inFlightWhileRunning: number | null;
  /** Engine round trips during the timed span (creation included for online and serial). */
  readonly roundTrips: RoundTripCounts;
  readonly roundTripTotal: number;
  /** Creation round trips of predrain mode (before the timed span). */
  readonly preRoundTrips: number | null;
  readonly dispatchMs: { readonly claim: number[]; readonly finish: number[] };
}

const CREATE_CHUNK = 1000;

/** Runs `fn(i)` for i in [0, n) with at most `inflight` calls outstanding. */
async function inParallel(n: number, inflight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, lane));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BenchError('BENCH_TIMEOUT', `${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls until every task in [minId, maxId] is complete; fails at once if one is in error. */
async function untilAllComplete(env: RunEnv, minId: number, maxId: number, expected: number): Promise<void> {
  const tasks = `"${env.schema.replaceAll('"', '""')}".tasks`;
  for (;;) {
    const { rows } = await env.admin.query<{ complete: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE state = 'complete')::int AS complete,
              count(*) FILTER (WHERE state IN ('error', 'cancelled'))::int AS failed
         FROM ${tasks} WHERE id BETWEEN $1 AND $2`,
      [minId, maxId],
    );
    const row = rows[0]!;
    if (row.failed > 0) throw new BenchError('BENCH_TASK_FAILED', `${row.failed} benchmark task(s) failed`);
    if (row.complete >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function runWorkload(env: RunEnv, spec: WorkloadSpec): Promise<WorkloadResult> {
  const tracker = new Tracker(spec.shape);
  const template = benchTemplate(spec.shape, tracker, spec.flow);
  const extra = spec.taskerOptions ?? {};
  const tasker = await env.openTasker({
    ...extra,
    execution: { ...(extra.execution ?? {}), concurrency: spec.concurrency },
  });
  const workers: Worker[] = [];
  try {
    tasker.register(template);
    const keys = spec.flow?.keys;
    const request = (i: number) => ({
      namespace: template.namespace,
      name: template.name,
      context: keys ? { i, k: i % keys } : { i },
    });
    const startWorkers = async () => {
      for (let w = 0; w < spec.workers; w++)
        workers.push(
          await tasker.startWorker({ concurrency: spec.concurrency, prefetch: spec.prefetch ?? 0 }),
        );
    };
    let minId = Number.POSITIVE_INFINITY;
    let maxId = 0;
    const note = (id: number) => {
      if (id < minId) minId = id;
      if (id > maxId) maxId = id;
    };
    await spec.onReady?.(tasker);

    let t0: number;
    let enqueueDone: number;
    let preRoundTrips: number | null = null;
    let cpuAtT0: NodeJS.CpuUsage;
    const work = async () => {
      if (spec.mode === 'predrain') {
        const before = performance.now();
        env.engineDb.reset();
        for (let from = 0; from < spec.tasks; from += CREATE_CHUNK) {
          const chunk = Array.from({ length: Math.min(CREATE_CHUNK, spec.tasks - from) }, (_, k) =>
            request(from + k),
          );
          for (const created of await tasker.createTasks(chunk)) note(created.id);
        }
        preRoundTrips = env.engineDb.total();
        const pre = performance.now() - before;
        env.engineDb.reset();
        t0 = performance.now();
        cpuAtT0 = process.cpuUsage();
        enqueueDone = t0 + pre; // reported as the untimed pre-load duration
        await startWorkers();
      } else {
        await startWorkers();
        env.engineDb.reset();
        t0 = performance.now();
        cpuAtT0 = process.cpuUsage();
        if (spec.mode === 'online') {
          await inParallel(spec.tasks, spec.inflight ?? 20, async (i) => {
            note((await tasker.createTask(request(i))).id);
          });
        } else {
          for (let i = 0; i < spec.tasks; i++) {
            const created = await tasker.createTask(request(i));
            note(created.id);
            await tracker.final(created.id);
          }
        }
        enqueueDone = performance.now();
      }
      await tracker.allFinal(spec.tasks);
      await untilAllComplete(env, minId, maxId, spec.tasks);
      return performance.now();
    };
    const end = await withTimeout(
      work(),
      spec.timeoutMs,
      `${spec.shape} ${spec.mode} of ${spec.tasks} tasks`,
    );
    const cpu = process.cpuUsage(cpuAtT0!);
    const counts = env.engineDb.counts();
    const dispatchMs = env.engineDb.dispatchDurations();
    const elapsedS = (end - t0!) / 1000;
    const steps = spec.tasks * STEPS_PER_TASK[spec.shape];
    if (tracker.stepRuns !== steps) {
      throw new BenchError(
        'BENCH_WRONG_COUNT',
        `${spec.shape}: expected ${steps} step executions, observed ${tracker.stepRuns}`,
      );
    }
    return {
      tasks: spec.tasks,
      steps,
      stepRuns: tracker.stepRuns,
      elapsedS,
      enqueueS: spec.mode === 'predrain' ? (enqueueDone! - t0!) / 1000 : (enqueueDone! - t0!) / 1000,
      tasksPerS: spec.tasks / elapsedS,
      stepsPerS: steps / elapsedS,
      handoff: tracker.handoffs(),
      join: tracker.joins(),
      keyHandoff: tracker.keyHandoffs(),
      inFlightWhileRunning: tracker.meanInFlightWhileRunning(),
      processCpuUsPerTask: (cpu.user + cpu.system) / spec.tasks,
      roundTrips: counts,
      roundTripTotal: env.engineDb.total(),
      preRoundTrips,
      dispatchMs,
    };
  } finally {
    await tasker.close();
  }
}
