/**
 * Section status: the read paths operators and the dashboard poll, on a schema holding 100 finished tasks
 * (a full page of them) and on one holding 1,000,000 (the same cloned history as section e). Each schema also holds the same few
 * live tasks (pending). Timed through the API server in process (`inject`, no socket): GET /health/status
 * (counts by state, live workers, pool) and GET /tasks filtered by state, for a state with few tasks
 * (pending) and for the state of the whole history (complete). What is compared is the latency with
 * history against without.
 */
import { createApiServer } from '../../api/server.js';
import type { RunEnv } from '../backend.js';
import { BenchError } from '../errors.js';
import type { SectionContext } from '../section.js';
import { type BenchSection, metric } from '../section.js';
import { percentile, sortedCopy } from '../stats.js';
import { generateHistory } from './history.js';
import { benchTemplate } from './templates.js';
import { Tracker } from './tracker.js';

/** Live tasks in each schema, so that a page filtered by pending is full. */
const LIVE_TASKS = 100;
/**
 * Finished tasks in the schema without history: enough that a page filtered by complete is full there
 * too, so that both sides serialize the same 50 rows and only the size of the history differs.
 */
const SMALL_HISTORY = 100;

const PATHS = {
  health: '/tasker/health/status',
  pending: '/tasker/tasks?state=pending&limit=50',
  complete: '/tasker/tasks?state=complete&limit=50',
} as const;
type PathKey = keyof typeof PATHS;

interface Timings {
  readonly p50: Record<PathKey, number | null>;
  readonly p95: Record<PathKey, number | null>;
  /** What /health/status reported, as a check that the counts are the ones made. */
  readonly tasksByState: Record<string, number>;
}

async function addLiveTasks(env: RunEnv): Promise<void> {
  const tasker = await env.openTasker();
  try {
    const template = tasker.register(benchTemplate('single', new Tracker('single')));
    await tasker.createTasks(
      Array.from({ length: LIVE_TASKS }, (_, i) => ({
        namespace: template.namespace,
        name: template.name,
        context: { i },
      })),
    );
  } finally {
    await tasker.close();
  }
}

async function measure(env: RunEnv, requests: number, expectedComplete: number): Promise<Timings> {
  const tasker = await env.openTasker();
  const app = await createApiServer({ tasker, docs: false, graphql: { enabled: false } });
  try {
    const get = async (url: string) => {
      const response = await app.inject({ url });
      if (response.statusCode !== 200) {
        throw new BenchError(
          'BENCH_TASK_FAILED',
          `GET ${url} answered ${response.statusCode}: ${response.body}`,
        );
      }
      return response;
    };
    const samples: Record<PathKey, number[]> = { health: [], pending: [], complete: [] };
    const keys = Object.keys(PATHS) as PathKey[];
    // Warm-up (plans, caches), then the paths interleaved so that a busy moment hits all of them alike.
    for (let i = 0; i < 5; i++) for (const key of keys) await get(PATHS[key]);
    for (let i = 0; i < requests; i++) {
      for (const key of keys) {
        const started = performance.now();
        await get(PATHS[key]);
        samples[key].push(performance.now() - started);
      }
    }
    const status = (await get(PATHS.health)).json() as { tasks: { byState: Record<string, number> } };
    const stat = (p: number) =>
      Object.fromEntries(keys.map((k) => [k, percentile(sortedCopy(samples[k]), p)])) as Record<
        PathKey,
        number | null
      >;
    // The counts are part of what is measured: they must be the tasks this schema holds.
    const byState = status.tasks.byState;
    if (byState.pending !== LIVE_TASKS || (byState.complete ?? 0) !== expectedComplete) {
      throw new BenchError(
        'BENCH_WRONG_COUNT',
        `/health/status counted ${JSON.stringify(byState)}; expected ${LIVE_TASKS} pending and ${expectedComplete} complete`,
      );
    }
    return { p50: stat(50), p95: stat(95), tasksByState: byState };
  } finally {
    await app.close();
    await tasker.close();
  }
}

async function measureOn(ctx: SectionContext, requests: number, history?: History): Promise<Timings> {
  const env = await ctx.backend.openRun(history ? { schema: history.schema, keepSchema: true } : {});
  try {
    let complete = history?.tasks ?? 0;
    if (!history) {
      complete = (await generateHistory(env, SMALL_HISTORY, () => {})).tasks;
      await addLiveTasks(env);
    }
    return await measure(env, requests, complete);
  } finally {
    await env.dispose();
  }
}

interface History {
  readonly schema: string;
  readonly tasks: number;
}

export const statusSection: BenchSection = {
  key: 'status',
  title: 'status paths with history',
  description:
    'GET /health/status and GET /tasks?state=pending|complete (limit 50) on a schema with 100 finished tasks vs one holding 1,000,000, each with 100 pending tasks: latency p50/p95 in process (inject)',
  async run(ctx) {
    const historySize = ctx.scaled(1_000_000, 1000);
    const history = await ctx.shared<History>(
      'history',
      async () => {
        const env = await ctx.backend.openRun({ keepSchema: true });
        try {
          ctx.log(`generating ${historySize.toLocaleString('en-US')} finished tasks of history`);
          const made = await generateHistory(env, historySize, ctx.log);
          await addLiveTasks(env);
          return { schema: env.schema, tasks: made.tasks };
        } finally {
          await env.dispose();
        }
      },
      (h) => ctx.backend.dropSchema(h.schema),
    );
    const requests = ctx.scaled(200, 20);
    const onEmpty = () => {
      ctx.log(`status paths: ${requests} requests each, ${SMALL_HISTORY} finished tasks`);
      return measureOn(ctx, requests);
    };
    const onHistory = () => {
      ctx.log(
        `status paths: ${requests} requests each, ${history.tasks.toLocaleString('en-US')} tasks of history`,
      );
      return measureOn(ctx, requests, history);
    };
    // Alternate which goes first, as section e does.
    let empty: Timings;
    let loaded: Timings;
    if (ctx.run % 2 === 1) {
      empty = await onEmpty();
      loaded = await onHistory();
    } else {
      loaded = await onHistory();
      empty = await onEmpty();
    }
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
    const labels: Record<PathKey, string> = {
      health: 'GET /health/status',
      pending: 'GET /tasks?state=pending',
      complete: 'GET /tasks?state=complete',
    };
    const metrics = [
      metric('status.history_tasks', 'finished tasks of history', 'tasks', history.tasks, 'higher'),
      ...(Object.keys(PATHS) as PathKey[]).flatMap((key) => [
        metric(
          `status.${key}_empty_p50_ms`,
          `${labels[key]} p50, 100 finished`,
          'ms',
          empty.p50[key],
          'lower',
        ),
        metric(
          `status.${key}_history_p50_ms`,
          `${labels[key]} p50, with history`,
          'ms',
          loaded.p50[key],
          'lower',
        ),
        metric(
          `status.${key}_history_p95_ms`,
          `${labels[key]} p95, with history`,
          'ms',
          loaded.p95[key],
          'lower',
        ),
        metric(
          `status.${key}_p50_ratio`,
          `${labels[key]} p50 with history / without`,
          'x',
          ratio(loaded.p50[key], empty.p50[key]),
          'lower',
        ),
      ]),
    ];
    return {
      metrics,
      details: {
        historyTasks: history.tasks,
        requests,
        empty: { p50: empty.p50, p95: empty.p95, tasksByState: empty.tasksByState },
        history: { p50: loaded.p50, p95: loaded.p95, tasksByState: loaded.tasksByState },
      },
    };
  },
};
