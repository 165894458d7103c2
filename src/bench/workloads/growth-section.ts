/**
 * Section grow: the dispatch functions plan their statements once per connection (migration 27), so a
 * worker's plans are made while its schema is empty and kept as the tables grow. This section runs that
 * case: a worker plans on an empty schema (20 tasks), drains 20,000 single-step tasks created in bulk
 * while it runs, then 100,000 more (the history), then 20,000 again on the same connections. The last
 * drain should be as fast as the first (target: within 1.2x); a plan that suits only small tables (a
 * sequential scan, a merge join over a whole table) shows as a drop.
 */
import { BenchError } from '../errors.js';
import { type BenchSection, metric } from '../section.js';
import { benchTemplate } from './templates.js';
import { Tracker } from './tracker.js';

const CHUNK = 1000;

export const growthSection: BenchSection = {
  key: 'grow',
  title: 'plans made on an empty schema',
  backends: ['pg'],
  description:
    'one worker plans on an empty schema, then drains 20,000 tasks, 100,000 more (history) and 20,000 again on the same connections: the rate before and after the history',
  async run(ctx) {
    const env = await ctx.backend.openRun();
    const tracker = new Tracker('single');
    const tasker = await env.openTasker({ execution: { concurrency: ctx.concurrency } });
    try {
      tasker.register(benchTemplate('single', tracker));
      const worker = await tasker.startWorker({ concurrency: ctx.concurrency });
      let made = 0;
      const drain = async (n: number): Promise<number> => {
        const started = performance.now();
        for (let from = 0; from < n; from += CHUNK) {
          const count = Math.min(CHUNK, n - from);
          await tasker.createTasks(
            Array.from({ length: count }, (_, k) => ({
              namespace: 'bench',
              name: 'single',
              context: { i: made + from + k },
            })),
          );
        }
        made += n;
        await tracker.allFinal(made);
        return n / ((performance.now() - started) / 1000);
      };
      for (let i = 0; i < 20; i++) {
        const created = await tasker.createTask({ namespace: 'bench', name: 'single', context: { i } });
        await tracker.final(created.id);
      }
      made = 20;
      const batch = ctx.scaled(20_000, 10);
      const history = ctx.scaled(100_000, 20);
      ctx.log(`first ${batch} tasks (plans made on an empty schema)`);
      const first = await drain(batch);
      ctx.log(`${history} tasks of history`);
      const grown = await drain(history);
      ctx.log(`${batch} tasks on ${made} tasks of history`);
      const last = await drain(batch);
      await worker.stop();
      if (tracker.stepRuns !== made) {
        throw new BenchError(
          'BENCH_WRONG_COUNT',
          `expected ${made} step executions, observed ${tracker.stepRuns}`,
        );
      }
      return {
        metrics: [
          metric('grow.first_tasks_per_s', 'drain, schema nearly empty', 'tasks/s', first, 'higher'),
          metric('grow.history_tasks_per_s', 'drain of the history', 'tasks/s', grown, 'higher'),
          metric('grow.last_tasks_per_s', 'drain on the history, same plans', 'tasks/s', last, 'higher'),
          metric('grow.ratio', 'first / last', 'x', first / last, 'lower'),
        ],
        details: { tasks: made, stepRuns: tracker.stepRuns, batch, history },
      };
    } finally {
      await tasker.close();
      await env.dispose();
    }
  },
};
