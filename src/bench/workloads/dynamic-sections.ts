/**
 * Sections `fanout` and `children` (issue 9): dynamic workflows under load.
 * - fanout: tasks whose batch step fans out to K worker steps (no-op items) and converges in a step after
 *   it: worker steps per second, and the time from the batch step's planning run to the last worker's
 *   start, per task.
 * - children: parent tasks whose one step starts a child task (one no-op step) and takes its results:
 *   parent-to-child hand-off (the startChild call to the child's step start) and child-to-parent
 *   (the child's step end to the parent step's second run), p50/p95.
 */
import { defineTask } from '../../definitions/define-task.js';
import { BenchError } from '../errors.js';
import { type BenchSection, metric, type SectionContext } from '../section.js';
import { percentile, sortedCopy } from '../stats.js';

const NAMESPACE = 'bench_dynamic';

async function untilDone(ctx: SectionContext, done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + ctx.timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new BenchError('BENCH_TIMEOUT', `${what} did not finish in time`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const fanoutSection: BenchSection = {
  key: 'fanout',
  title: 'batch fan-out',
  description:
    '100 tasks, each a batch step fanning out to 1,000 no-op worker steps and a step converging on their results; created first, then drained',
  async run(ctx) {
    const tasks = ctx.scaled(100, 2);
    const items = ctx.scaled(1_000, 10);
    const env = await ctx.backend.openRun();
    try {
      const tasker = await env.openTasker({ execution: { concurrency: ctx.concurrency } });
      const planned = new Map<number, number>();
      const lastWorkerStart = new Map<number, number>();
      let workerRuns = 0;
      let converged = 0;
      try {
        tasker.register(
          defineTask({
            namespace: NAMESPACE,
            name: 'fan',
            steps: [
              {
                name: 'plan',
                kind: 'batch',
                handler: ({ task }) => {
                  planned.set(task.id, performance.now());
                  return { items: Array.from({ length: items }, (_, i) => i) };
                },
                batch: {
                  handler: ({ task, inputs }) => {
                    lastWorkerStart.set(task.id, performance.now());
                    workerRuns++;
                    return inputs;
                  },
                },
              },
              {
                name: 'converge',
                dependsOn: ['plan'],
                handler: ({ parents }) => {
                  converged++;
                  return (parents.plan as unknown[]).length;
                },
              },
            ],
          }),
        );
        ctx.log(`fanout: ${tasks} tasks x ${items} workers`);
        await tasker.createTasks(
          Array.from({ length: tasks }, () => ({ namespace: NAMESPACE, name: 'fan' })),
        );
        const t0 = performance.now();
        for (let w = 0; w < ctx.workers; w++) await tasker.startWorker({ concurrency: ctx.concurrency });
        await untilDone(ctx, () => converged >= tasks, 'fan-out');
        const elapsedS = (performance.now() - t0) / 1000;
        if (workerRuns !== tasks * items) {
          throw new BenchError(
            'BENCH_WRONG_COUNT',
            `fanout: expected ${tasks * items} worker runs, saw ${workerRuns}`,
          );
        }
        const spans = sortedCopy([...planned].map(([id, at]) => (lastWorkerStart.get(id) ?? at) - at));
        return {
          metrics: [
            metric(
              'fanout.worker_steps_per_s',
              'fan-out worker steps',
              'steps/s',
              (tasks * items) / elapsedS,
              'higher',
            ),
            metric(
              'fanout.spread_p50_ms',
              'batch end to last worker start p50',
              'ms',
              percentile(spans, 50),
              'lower',
            ),
            metric(
              'fanout.spread_p95_ms',
              'batch end to last worker start p95',
              'ms',
              percentile(spans, 95),
              'lower',
            ),
          ],
          details: { tasks, items, workerRuns, converged, elapsedS },
        };
      } finally {
        await tasker.close();
      }
    } finally {
      await env.dispose();
    }
  },
};

export const childrenSection: BenchSection = {
  key: 'children',
  title: 'child workflows',
  description:
    '1,000 parent tasks created while workers run, each starting one child task (one no-op step) and taking its results: hand-offs parent -> child and child -> parent',
  async run(ctx) {
    const parents = ctx.scaled(1_000, 4);
    const env = await ctx.backend.openRun();
    try {
      const tasker = await env.openTasker({ execution: { concurrency: ctx.concurrency } });
      const called = new Map<number, number>(); // parent task -> first startChild call
      const childStarted = new Map<number, number>(); // parent task -> child's step start
      const childEnded = new Map<number, number>();
      const resumed = new Map<number, number>(); // parent task -> parent step's second run
      let finished = 0;
      try {
        tasker.register(
          defineTask({
            namespace: NAMESPACE,
            name: 'child',
            steps: [
              {
                name: 'work',
                handler: ({ context }) => {
                  const parent = Number(context.parent);
                  childStarted.set(parent, performance.now());
                  childEnded.set(parent, performance.now());
                  return { ok: true };
                },
              },
            ],
          }),
        );
        tasker.register(
          defineTask({
            namespace: NAMESPACE,
            name: 'parent',
            steps: [
              {
                name: 'call',
                handler: async ({ task, startChild }) => {
                  if (called.has(task.id)) resumed.set(task.id, performance.now());
                  else called.set(task.id, performance.now());
                  const child = await startChild({
                    namespace: NAMESPACE,
                    name: 'child',
                    context: { parent: task.id },
                  });
                  finished++;
                  return child.results;
                },
              },
            ],
          }),
        );
        for (let w = 0; w < ctx.workers; w++) await tasker.startWorker({ concurrency: ctx.concurrency });
        ctx.log(`children: ${parents} parents`);
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            while (next < parents) {
              next++;
              await tasker.createTask({ namespace: NAMESPACE, name: 'parent' });
            }
          }),
        );
        await untilDone(ctx, () => finished >= parents, 'child workflows');
        const elapsedS = (performance.now() - t0) / 1000;
        const down = sortedCopy([...called].map(([id, at]) => childStarted.get(id)! - at));
        const up = sortedCopy([...resumed].map(([id, at]) => at - childEnded.get(id)!));
        return {
          metrics: [
            metric('children.parents_per_s', 'parents with a child', 'tasks/s', parents / elapsedS, 'higher'),
            metric(
              'children.down_p50_ms',
              'parent -> child hand-off p50',
              'ms',
              percentile(down, 50),
              'lower',
            ),
            metric(
              'children.down_p95_ms',
              'parent -> child hand-off p95',
              'ms',
              percentile(down, 95),
              'lower',
            ),
            metric('children.up_p50_ms', 'child -> parent hand-off p50', 'ms', percentile(up, 50), 'lower'),
            metric('children.up_p95_ms', 'child -> parent hand-off p95', 'ms', percentile(up, 95), 'lower'),
          ],
          details: { parents, finished, elapsedS },
        };
      } finally {
        await tasker.close();
      }
    } finally {
      await env.dispose();
    }
  },
};
