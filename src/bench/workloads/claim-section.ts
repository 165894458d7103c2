/**
 * Section e: claim cost with 1,000,000 finished tasks of history against an empty database. The same
 * drain (single-step tasks created first, then run) is timed on a fresh schema and on one holding the
 * history; what is compared is the duration of each dispatch round trip (claim_steps, or finish_steps,
 * which records outcomes and claims the next steps in one statement) and the drain rate.
 */
import type { SectionContext } from '../section.js';
import { type BenchSection, metric } from '../section.js';
import { percentile, sortedCopy } from '../stats.js';
import { generateHistory } from './history.js';
import { runWorkload, type WorkloadResult } from './run-workload.js';

interface History {
  readonly schema: string;
  readonly tasks: number;
  readonly seconds: number;
}

async function drain(
  ctx: SectionContext,
  tasks: number,
  schema?: string,
  shape: 'single' | 'chain3' = 'single',
): Promise<WorkloadResult> {
  const env = await ctx.backend.openRun(schema ? { schema, keepSchema: true } : {});
  try {
    return await runWorkload(env, {
      shape,
      mode: 'predrain',
      tasks,
      concurrency: ctx.concurrency,
      workers: ctx.workers,
      timeoutMs: ctx.timeoutMs,
    });
  } finally {
    await env.dispose();
  }
}

function dispatchStats(r: WorkloadResult) {
  const all = sortedCopy([...r.dispatchMs.claim, ...r.dispatchMs.finish]);
  const claims = sortedCopy(r.dispatchMs.claim);
  return {
    samples: all.length,
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    claimOnlySamples: claims.length,
    claimOnlyP50: percentile(claims, 50),
  };
}

export const claimSection: BenchSection = {
  key: 'e',
  title: 'claim cost with history',
  description:
    'drain of single-step tasks and of 3-step chains on an empty schema vs one holding 1,000,000 finished tasks (--history; cloned with generate_series): dispatch round-trip latency p50/p95, drain rate, chain rate and hand-off',
  async run(ctx) {
    const historySize = ctx.historyTasks ?? ctx.scaled(1_000_000, 1000);
    const history = await ctx.shared<History>(
      'history',
      async () => {
        const env = await ctx.backend.openRun({ keepSchema: true });
        try {
          ctx.log(`generating ${historySize.toLocaleString('en-US')} finished tasks of history`);
          const made = await generateHistory(env, historySize, ctx.log);
          ctx.log(
            `history ready: ${made.tasks.toLocaleString('en-US')} tasks in ${made.seconds.toFixed(1)} s`,
          );
          return { schema: env.schema, ...made };
        } finally {
          await env.dispose();
        }
      },
      (h) => ctx.backend.dropSchema(h.schema),
    );
    const tasks = ctx.scaled(10_000, 10);
    const drainEmpty = () => {
      ctx.log(`claim: drain of ${tasks} tasks, empty schema`);
      return drain(ctx, tasks);
    };
    const drainLoaded = () => {
      ctx.log(`claim: drain of ${tasks} tasks, ${history.tasks.toLocaleString('en-US')} tasks of history`);
      return drain(ctx, tasks, history.schema);
    };
    // Alternate which goes first, so that warm-up (or a busy neighbour) does not always favour one side.
    let empty: WorkloadResult;
    let loaded: WorkloadResult;
    if (ctx.run % 2 === 1) {
      empty = await drainEmpty();
      loaded = await drainLoaded();
    } else {
      loaded = await drainLoaded();
      empty = await drainEmpty();
    }
    // Chains: each step's hand-off to the next (W2's shape), the other half of the hot path.
    const chains = ctx.scaled(2_000, 10);
    ctx.log(`claim: ${chains} chains, empty schema and with history`);
    const chainsEmpty = await drain(ctx, chains, undefined, 'chain3');
    const chainsLoaded = await drain(ctx, chains, history.schema, 'chain3');
    const e = dispatchStats(empty);
    const h = dispatchStats(loaded);
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
    return {
      metrics: [
        metric('claim.history_tasks', 'finished tasks of history', 'tasks', history.tasks, 'higher'),
        metric('claim.drained_tasks', 'tasks drained in each case', 'tasks', tasks, 'higher'),
        metric('claim.empty_p50_ms', 'dispatch round trip p50, empty', 'ms', e.p50, 'lower'),
        metric('claim.history_p50_ms', 'dispatch round trip p50, with history', 'ms', h.p50, 'lower'),
        metric('claim.empty_p95_ms', 'dispatch round trip p95, empty', 'ms', e.p95, 'lower'),
        metric('claim.history_p95_ms', 'dispatch round trip p95, with history', 'ms', h.p95, 'lower'),
        metric('claim.p50_ratio', 'p50 with history / empty', 'x', ratio(h.p50, e.p50), 'lower'),
        metric('claim.empty_tasks_per_s', 'drain rate, empty', 'tasks/s', empty.tasksPerS, 'higher'),
        metric(
          'claim.history_tasks_per_s',
          'drain rate, with history',
          'tasks/s',
          loaded.tasksPerS,
          'higher',
        ),
        metric(
          'claim.throughput_ratio',
          'drain rate empty / with history',
          'x',
          ratio(empty.tasksPerS, loaded.tasksPerS),
          'lower',
        ),
        metric(
          'claim.chains_empty_per_s',
          'chains (3 steps) drained/s, empty',
          'chains/s',
          chainsEmpty.tasksPerS,
          'higher',
        ),
        metric(
          'claim.chains_history_per_s',
          'chains (3 steps) drained/s, with history',
          'chains/s',
          chainsLoaded.tasksPerS,
          'higher',
        ),
        metric(
          'claim.chains_ratio',
          'chain rate empty / with history',
          'x',
          ratio(chainsEmpty.tasksPerS, chainsLoaded.tasksPerS),
          'lower',
        ),
        metric(
          'claim.handoff_empty_p50_ms',
          'chain hand-off p50, empty',
          'ms',
          chainsEmpty.handoff.p50Ms,
          'lower',
        ),
        metric(
          'claim.handoff_history_p50_ms',
          'chain hand-off p50, with history',
          'ms',
          chainsLoaded.handoff.p50Ms,
          'lower',
        ),
      ],
      details: {
        historyTasks: history.tasks,
        historyGenerationS: history.seconds,
        empty: { tasks: empty.tasks, stepRuns: empty.stepRuns, dispatch: e },
        history: { tasks: loaded.tasks, stepRuns: loaded.stepRuns, dispatch: h },
        chains: { empty: chainsEmpty.handoff, history: chainsLoaded.handoff },
      },
    };
  },
};
