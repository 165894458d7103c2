/**
 * Section scale (issue 11, part 4): many worker processes on one PostgreSQL. W1d (single-step tasks) and
 * W3 (diamonds) are created first, then drained by 1, 2 and 4 worker processes (real child processes,
 * `concurrency` slots each); reported: the rate, the speed-up over one process, and where the database
 * stands meanwhile (mean active backends of the workers, transactions per second, and the wait events
 * sampled in pg_stat_activity every 50 ms: CPU, lock or I/O). Then the finished tasks of the one-process
 * W1d run are pruned, against the rate they were created at, with the schema's size before and after.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { quoteIdent } from '../../db/database.js';
import type { RunEnv } from '../backend.js';
import { benchScript, stopChildren, waitForLine } from '../child-processes.js';
import { BenchError } from '../errors.js';
import { type BenchSection, metric, type SectionContext } from '../section.js';
import { benchTemplate } from './templates.js';
import { type Shape, STEPS_PER_TASK, Tracker } from './tracker.js';

const PROCESSES = [1, 2, 4] as const;
const CREATE_CHUNK = 1000;

export interface DrainFigures {
  readonly shape: Shape;
  readonly processes: number;
  readonly tasks: number;
  readonly steps: number;
  readonly createS: number;
  readonly elapsedS: number;
  readonly tasksPerS: number;
  readonly stepsPerS: number;
  /** Mean backends of the workers running a statement, over the samples. */
  readonly activeBackends: number;
  readonly commitsPerS: number;
  /** Share of the active samples per wait event (`CPU` when not waiting). */
  readonly waits: Readonly<Record<string, number>>;
  readonly samples: number;
}

interface PruneFigures {
  /** Deleted, or moved into the archive (migration 28). */
  readonly mode: 'delete' | 'archive';
  readonly tasks: number;
  readonly seconds: number;
  readonly tasksPerS: number;
  readonly createTasksPerS: number;
  readonly schemaBytesBefore: number;
  readonly schemaBytesAfter: number;
  readonly schemaBytesAfterVacuum: number;
}

async function schemaBytes(env: RunEnv): Promise<number> {
  const { rows } = await env.admin.query<{ bytes: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [env.schema],
  );
  return Number(rows[0]!.bytes);
}

async function drain(
  ctx: SectionContext,
  shape: Shape,
  processes: number,
  retire: 'delete' | 'archive' | null,
): Promise<{ drain: DrainFigures; prune: PruneFigures | null }> {
  const env = await ctx.backend.openRun();
  const children: ChildProcess[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const tasker = await env.openTasker();
  try {
    tasker.register(benchTemplate(shape, new Tracker(shape)));
    const tasks = shape === 'single' ? ctx.scaled(20_000, 10) : ctx.scaled(5_000, 4);
    ctx.log(`${shape}: ${tasks} tasks, ${processes} worker process(es)`);
    const createStart = performance.now();
    for (let from = 0; from < tasks; from += CREATE_CHUNK) {
      const n = Math.min(CREATE_CHUNK, tasks - from);
      await tasker.createTasks(
        Array.from({ length: n }, (_, k) => ({ namespace: 'bench', name: shape, context: { i: from + k } })),
      );
    }
    const createS = (performance.now() - createStart) / 1000;

    const script = benchScript('scale-worker.js');
    const pool = Math.max(2, Math.ceil(ctx.concurrency / 5));
    for (let p = 0; p < processes; p++) {
      children.push(
        spawn(
          process.execPath,
          [
            script,
            ctx.databaseUrl!,
            env.schema,
            shape,
            String(ctx.concurrency),
            String(pool),
            String(ctx.prefetch),
          ],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        ),
      );
    }
    await Promise.all(children.map((c) => waitForLine(c, 'ready', 60_000)));

    const stats = async () =>
      (
        await env.admin.query<{ xacts: string }>(
          `SELECT (xact_commit + xact_rollback)::text AS xacts FROM pg_stat_database WHERE datname = current_database()`,
        )
      ).rows[0]!.xacts;
    await env.admin.query('SELECT pg_stat_clear_snapshot()');
    const xacts0 = Number(await stats());
    const waits = new Map<string, number>();
    let samples = 0;
    let active = 0;
    let sampling = false;
    sampler = setInterval(async () => {
      if (sampling) return;
      sampling = true;
      try {
        const { rows } = await env.admin.query<{ wait: string; n: number }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::int AS n
             FROM pg_stat_activity
            WHERE application_name = $1 AND state = 'active'
            GROUP BY 1`,
          [`tasker-scale ${env.schema}`.slice(0, 63)],
        );
        samples++;
        for (const { wait, n } of rows) {
          active += n;
          waits.set(wait, (waits.get(wait) ?? 0) + n);
        }
      } finally {
        sampling = false;
      }
    }, 50);

    const t0 = performance.now();
    for (const child of children) child.stdin!.write('go\n');
    const tasksTable = `${quoteIdent(env.schema)}.tasks`;
    for (;;) {
      const { rows } = await env.admin.query<{ complete: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE state = 'complete')::int AS complete,
                count(*) FILTER (WHERE state IN ('error', 'cancelled'))::int AS failed FROM ${tasksTable}`,
      );
      if (rows[0]!.failed > 0) throw new BenchError('BENCH_TASK_FAILED', `${rows[0]!.failed} task(s) failed`);
      if (rows[0]!.complete >= tasks) break;
      if (performance.now() - t0 > ctx.timeoutMs) {
        throw new BenchError('BENCH_TIMEOUT', `${shape} drain by ${processes} processes did not finish`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsedS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await env.admin.query('SELECT pg_stat_clear_snapshot()');
    const xacts1 = Number(await stats());
    await stopChildren(children);
    const activeSamples = [...waits.values()].reduce((a, b) => a + b, 0);
    const figures: DrainFigures = {
      shape,
      processes,
      tasks,
      steps: tasks * STEPS_PER_TASK[shape],
      createS,
      elapsedS,
      tasksPerS: tasks / elapsedS,
      stepsPerS: (tasks * STEPS_PER_TASK[shape]) / elapsedS,
      activeBackends: samples > 0 ? active / samples : 0,
      // Counted over the whole database: the harness's own polling is in it (about 50 per second).
      commitsPerS: (xacts1 - xacts0) / elapsedS,
      waits: Object.fromEntries(
        [...waits]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => [k, Math.round((n / Math.max(1, activeSamples)) * 1000) / 1000]),
      ),
      samples,
    };
    if (!retire) return { drain: figures, prune: null };

    const before = await schemaBytes(env);
    const pruneStart = performance.now();
    const report = await tasker.prune({ olderThan: 0, archive: retire === 'archive' });
    const seconds = (performance.now() - pruneStart) / 1000;
    if (report.tasks !== tasks) {
      throw new BenchError('BENCH_WRONG_COUNT', `pruned ${report.tasks} tasks, expected ${tasks}`);
    }
    const after = await schemaBytes(env);
    await env.admin.exec(
      `VACUUM ${tasksTable}, ${quoteIdent(env.schema)}.steps, ${quoteIdent(env.schema)}.task_transitions, ${quoteIdent(env.schema)}.step_transitions`,
    );
    return {
      drain: figures,
      prune: {
        mode: retire,
        tasks: report.tasks,
        seconds,
        tasksPerS: report.tasks / seconds,
        createTasksPerS: tasks / createS,
        schemaBytesBefore: before,
        schemaBytesAfter: after,
        schemaBytesAfterVacuum: await schemaBytes(env),
      },
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await stopChildren(children);
    await tasker.close();
    await env.dispose();
  }
}

export const scaleOutSection: BenchSection = {
  key: 'scale',
  title: 'scale-out',
  backends: ['pg'],
  description:
    'W1d and W3 drains by 1, 2 and 4 worker processes on one PostgreSQL (speed-up, active backends, transactions/s, wait events); then deleting (1 process) and archiving (2 processes) the finished W1d tasks against creating them',
  async run(ctx) {
    const metrics = [];
    const details: Record<string, unknown> = {};
    for (const shape of ['single', 'diamond'] as const) {
      const tag = shape === 'single' ? 'w1d' : 'w3';
      let one = 0;
      for (const processes of PROCESSES) {
        // The finished w1d tasks of one process are deleted, those of two processes archived.
        const retire =
          shape !== 'single' ? null : processes === 1 ? 'delete' : processes === 2 ? 'archive' : null;
        const r = await drain(ctx, shape, processes, retire);
        details[`${tag}_${processes}p`] = r.drain;
        if (processes === 1) one = r.drain.tasksPerS;
        metrics.push(
          metric(
            `scale.${tag}_${processes}p_tasks_per_s`,
            `${tag} by ${processes} process(es)`,
            'tasks/s',
            r.drain.tasksPerS,
            'higher',
          ),
        );
        if (processes > 1) {
          metrics.push(
            metric(
              `scale.${tag}_${processes}p_speedup`,
              `${tag} ${processes} processes / 1`,
              'x',
              r.drain.tasksPerS / one,
              'higher',
            ),
          );
        }
        metrics.push(
          metric(
            `scale.${tag}_${processes}p_active`,
            `${tag} ${processes}p: active backends (mean)`,
            'backends',
            r.drain.activeBackends,
            'lower',
          ),
          metric(
            `scale.${tag}_${processes}p_cpu_share`,
            `${tag} ${processes}p: active samples on CPU`,
            'share',
            r.drain.waits.CPU ?? 0,
            'higher',
          ),
        );
        if (r.prune) {
          const what = r.prune.mode === 'delete' ? 'prune' : 'archive';
          details[what] = r.prune;
          metrics.push(
            metric(
              `scale.${what}_tasks_per_s`,
              `${what} of the finished w1d tasks`,
              'tasks/s',
              r.prune.tasksPerS,
              'higher',
            ),
            metric(
              `scale.${what}_vs_create`,
              `${what} rate / bulk creation rate`,
              'x',
              r.prune.tasksPerS / r.prune.createTasksPerS,
              'higher',
            ),
            metric(
              `scale.schema_mb_before_${what}`,
              `schema size before ${what === 'prune' ? 'pruning' : 'archiving'}`,
              'MB',
              r.prune.schemaBytesBefore / 1e6,
              'lower',
            ),
            metric(
              `scale.schema_mb_after_${what}_vacuum`,
              `after ${what === 'prune' ? 'pruning' : 'archiving'} and VACUUM`,
              'MB',
              r.prune.schemaBytesAfterVacuum / 1e6,
              'lower',
            ),
          );
        }
      }
    }
    return { metrics, details };
  },
};
