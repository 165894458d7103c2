/** Sections a-d: throughput of single-step tasks, chains and diamonds, and hand-off latency. */

import type { BenchSection } from '../section.js';
import { type Metric, metric, type SectionContext } from '../section.js';
import { percentile, sortedCopy } from '../stats.js';
import { type Mode, runWorkload, type WorkloadResult } from './run-workload.js';
import type { Shape } from './tracker.js';

/**
 * `prefetch` is --prefetch for the single-step workloads (the peers run them with graphile-worker's local
 * queue) and 0 for chains, diamonds and hand-offs (the peers run those without).
 */
function run(
  ctx: SectionContext,
  shape: Shape,
  mode: Mode,
  tasks: number,
  prefetch = 0,
): Promise<WorkloadResult> {
  return ctx.backend.openRun().then(async (env) => {
    try {
      ctx.log(`${shape} ${mode}: ${tasks} tasks`);
      return await runWorkload(env, {
        shape,
        mode,
        tasks,
        concurrency: ctx.concurrency,
        prefetch,
        workers: ctx.workers,
        timeoutMs: ctx.timeoutMs,
      });
    } finally {
      await env.dispose();
    }
  });
}

/** What every throughput workload reports: counts (checked by the test) and timings. */
function counts(r: WorkloadResult) {
  return {
    tasks: r.tasks,
    steps: r.steps,
    stepRuns: r.stepRuns,
    elapsedS: r.elapsedS,
    enqueueS: r.enqueueS,
    roundTrips: r.roundTripTotal,
  };
}

export const singleSection: BenchSection = {
  key: 'a',
  title: 'single-step tasks',
  description:
    '20,000 single-step tasks: created one call at a time (20 in flight) while workers run (w1), and created first in bulk then drained (w1d)',
  async run(ctx) {
    const n = ctx.scaled(20_000, 10);
    const online = await run(ctx, 'single', 'online', n, ctx.prefetch);
    const drain = await run(ctx, 'single', 'predrain', n, ctx.prefetch);
    const metrics: Metric[] = [
      metric('w1.tasks_per_s', 'w1 created one at a time + run', 'tasks/s', online.tasksPerS, 'higher'),
      metric('w1.enqueue_s', 'w1 time spent creating', 's', online.enqueueS, 'lower'),
      metric('w1d.tasks_per_s', 'w1d drain of pre-created tasks', 'tasks/s', drain.tasksPerS, 'higher'),
      metric('w1d.pre_enqueue_s', 'w1d bulk creation (untimed)', 's', drain.enqueueS, 'lower'),
    ];
    return { metrics, details: { w1: counts(online), w1d: counts(drain) } };
  },
};

export const chainSection: BenchSection = {
  key: 'b',
  title: 'linear chains A -> B -> C',
  description:
    '2,000 chains created one call at a time (20 in flight) while workers run; hand-off = B start - A end and C start - B end, under load',
  async run(ctx) {
    const r = await run(ctx, 'chain3', 'online', ctx.scaled(2_000, 4));
    return {
      metrics: [
        metric('w2.chains_per_s', 'w2 chains', 'chains/s', r.tasksPerS, 'higher'),
        metric('w2.steps_per_s', 'w2 steps', 'steps/s', r.stepsPerS, 'higher'),
        metric('w2.handoff_p50_ms', 'w2 hand-off p50, under load', 'ms', r.handoff.p50Ms, 'lower'),
        metric('w2.handoff_p95_ms', 'w2 hand-off p95, under load', 'ms', r.handoff.p95Ms, 'lower'),
      ],
      details: { w2: { ...counts(r), handoffSamples: r.handoff.samples } },
    };
  },
};

export const diamondSection: BenchSection = {
  key: 'c',
  title: 'diamonds A -> (B, C) -> D',
  description:
    '1,000 diamonds created one call at a time (20 in flight) while workers run; join = D start - max(B end, C end); fan-out = B/C start - A end',
  async run(ctx) {
    const r = await run(ctx, 'diamond', 'online', ctx.scaled(1_000, 4));
    return {
      metrics: [
        metric('w3.diamonds_per_s', 'w3 diamonds', 'diamonds/s', r.tasksPerS, 'higher'),
        metric('w3.steps_per_s', 'w3 steps', 'steps/s', r.stepsPerS, 'higher'),
        metric('w3.join_p50_ms', 'w3 join hand-off p50, under load', 'ms', r.join.p50Ms, 'lower'),
        metric('w3.join_p95_ms', 'w3 join hand-off p95, under load', 'ms', r.join.p95Ms, 'lower'),
        metric('w3.fanout_p50_ms', 'w3 fan-out hand-off p50, under load', 'ms', r.handoff.p50Ms, 'lower'),
        metric('w3.fanout_p95_ms', 'w3 fan-out hand-off p95, under load', 'ms', r.handoff.p95Ms, 'lower'),
      ],
      details: { w3: { ...counts(r), joinSamples: r.join.samples, fanoutSamples: r.handoff.samples } },
    };
  },
};

export const serialSection: BenchSection = {
  key: 'd',
  title: 'hand-off, one chain at a time',
  description:
    "100 chains A -> B -> C one after another (the next is created when the last C has run): dispatch latency on an idle system (the peers' W2s); under-load hand-offs are in b and c",
  async run(ctx) {
    const r = await run(ctx, 'chain3', 'serial', ctx.scaled(100, 2));
    // Each step's outcome goes out in its own finish_steps round trip, which starts the next step: a
    // hand-off can cost no less than that round trip, timed here as the worker sees it (the statement,
    // its commit and the wire), so the table shows how much of the hand-off is the process's own.
    const finishes = sortedCopy(r.dispatchMs.finish);
    return {
      metrics: [
        metric('w2s.handoff_p50_ms', 'w2s hand-off p50, one chain at a time', 'ms', r.handoff.p50Ms, 'lower'),
        metric('w2s.handoff_p95_ms', 'w2s hand-off p95, one chain at a time', 'ms', r.handoff.p95Ms, 'lower'),
        metric(
          'w2s.finish_round_trip_p50_ms',
          'w2s finish_steps round trip p50, as the worker times it',
          'ms',
          percentile(finishes, 50),
          'lower',
        ),
        metric('w2s.chains_per_s', 'w2s chains, sequential', 'chains/s', r.tasksPerS, 'higher'),
      ],
      details: {
        w2s: { ...counts(r), handoffSamples: r.handoff.samples, finishRoundTrips: finishes.length },
      },
    };
  },
};
