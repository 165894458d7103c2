/**
 * Section flow: what flow control costs and what it lets through (issue 10). W1 (single-step tasks created
 * one call at a time while workers run) plain, with a concurrency key per task (1,000 distinct keys,
 * limit 1) and with a rate limit far above the rate; then 100 keys with limit 1 and 20 tasks each, whose
 * steps take 50 ms: throughput should be close to 100 steps in flight (2,000 steps/s), measured beside the
 * same tasks without keys on 100 worker slots (what 100 in flight gives on the machine). Both are given over
 * the timed span (from before the workers start) and over the span in which steps ran (first start to last
 * end: what the keys let through once the worker runs). The hand-off of a key (its slot empty from one
 * step's end to the next one's start) says what keeps the keys below 100.
 */
import type { BenchSection, SectionContext } from '../section.js';
import { metric } from '../section.js';
import { percentile, sortedCopy } from '../stats.js';
import { runWorkload, type WorkloadResult, type WorkloadSpec } from './run-workload.js';

const HANDLER_MS = 50;

function run(
  ctx: SectionContext,
  label: string,
  spec: Omit<WorkloadSpec, 'timeoutMs'>,
): Promise<WorkloadResult> {
  return ctx.backend.openRun().then(async (env) => {
    try {
      ctx.log(`${label}: ${spec.tasks} tasks`);
      return await runWorkload(env, { ...spec, timeoutMs: ctx.timeoutMs });
    } finally {
      await env.dispose();
    }
  });
}

/** How many dispatch round trips a run made and how long they took (ms, as the process saw them). */
function roundTripTimes(r: WorkloadResult) {
  const all = sortedCopy([...r.dispatchMs.claim, ...r.dispatchMs.finish]);
  return { count: all.length, p50Ms: percentile(all, 50), p90Ms: percentile(all, 90) };
}

export const flowControlSection: BenchSection = {
  key: 'flow',
  title: 'flow control',
  description:
    'W1 plain, with a concurrency key (1,000 keys, limit 1) and with a rate limit far above the rate; then 100 keys x 20 tasks, limit 1, 50 ms steps (ideal: 100 in flight)',
  async run(ctx) {
    const n = ctx.scaled(20_000, 10);
    const base = {
      shape: 'single',
      mode: 'online',
      tasks: n,
      concurrency: ctx.concurrency,
      workers: ctx.workers,
    } as const;
    const plain = await run(ctx, 'w1 plain', base);
    const keyed = await run(ctx, 'w1 keyed', { ...base, flow: { keys: 1000, limit: 1 } });
    const limited = await run(ctx, 'w1 rate-limited', {
      ...base,
      flow: { rateLimited: true },
      taskerOptions: { rateLimits: { bench: { rate: 1_000_000, per: 'second', burst: 1_000_000 } } },
    });
    const hotTasks = ctx.scaled(2_000, 10);
    const hot = await run(ctx, '100 keys', {
      shape: 'single',
      mode: 'predrain',
      tasks: hotTasks,
      // Enough slots for every key at once: the keys, not the workers, are the limit.
      concurrency: Math.ceil(200 / ctx.workers),
      workers: ctx.workers,
      // 100 keys; fewer at a small --scale, so that every key still has a hand-off to measure.
      flow: { keys: Math.min(100, Math.ceil(hotTasks / 2)), limit: 1, handlerMs: HANDLER_MS },
    });
    // The same tasks without keys on 100 worker slots: what 100 in flight gives on this machine.
    const slots = await run(ctx, '100 slots, no keys', {
      shape: 'single',
      mode: 'predrain',
      tasks: hotTasks,
      concurrency: Math.ceil(100 / ctx.workers),
      workers: ctx.workers,
      flow: { handlerMs: HANDLER_MS },
    });
    const inFlight = (hot.stepsPerS * HANDLER_MS) / 1000;
    const slotsInFlight = (slots.stepsPerS * HANDLER_MS) / 1000;
    return {
      metrics: [
        metric('flow.w1_plain_tasks_per_s', 'w1 plain', 'tasks/s', plain.tasksPerS, 'higher'),
        metric('flow.w1_keyed_tasks_per_s', 'w1, 1,000 keys limit 1', 'tasks/s', keyed.tasksPerS, 'higher'),
        metric('flow.w1_keyed_ratio', 'w1 keyed / plain', 'x', keyed.tasksPerS / plain.tasksPerS, 'higher'),
        metric(
          'flow.w1_rate_tasks_per_s',
          'w1, rate limit far above',
          'tasks/s',
          limited.tasksPerS,
          'higher',
        ),
        metric(
          'flow.w1_rate_ratio',
          'w1 rate-limited / plain',
          'x',
          limited.tasksPerS / plain.tasksPerS,
          'higher',
        ),
        metric(
          'flow.hot_keys_steps_per_s',
          '100 keys x 20, limit 1, 50 ms steps',
          'steps/s',
          hot.stepsPerS,
          'higher',
        ),
        metric(
          'flow.hot_keys_in_flight',
          '100 keys: mean steps in flight (ideal 100)',
          'steps',
          inFlight,
          'higher',
        ),
        metric(
          'flow.hot_keys_in_flight_running',
          '100 keys: mean in flight while steps ran (ideal 100)',
          'steps',
          hot.inFlightWhileRunning,
          'higher',
        ),
        metric(
          'flow.hot_keys_handoff_p50_ms',
          "100 keys: a key's slot empty between its steps, p50",
          'ms',
          hot.keyHandoff.p50Ms,
          'lower',
        ),
        metric(
          'flow.hot_keys_handoff_p95_ms',
          "100 keys: a key's slot empty between its steps, p95",
          'ms',
          hot.keyHandoff.p95Ms,
          'lower',
        ),
        metric(
          'flow.slots_in_flight',
          '100 slots, no keys: mean steps in flight',
          'steps',
          slotsInFlight,
          'higher',
        ),
        metric(
          'flow.slots_in_flight_running',
          '100 slots: mean in flight while steps ran',
          'steps',
          slots.inFlightWhileRunning,
          'higher',
        ),
        metric(
          'flow.hot_keys_ratio',
          '100 keys / 100 slots (in flight)',
          'x',
          inFlight / slotsInFlight,
          'higher',
        ),
      ],
      details: {
        plain: { tasks: plain.tasks, elapsedS: plain.elapsedS },
        keyed: { tasks: keyed.tasks, elapsedS: keyed.elapsedS },
        limited: { tasks: limited.tasks, elapsedS: limited.elapsedS },
        hot: {
          tasks: hot.tasks,
          elapsedS: hot.elapsedS,
          roundTrips: roundTripTimes(hot),
          keyHandoffs: hot.keyHandoff.samples,
        },
        slots: { tasks: slots.tasks, elapsedS: slots.elapsedS },
      },
    };
  },
};
