/** The benchmark's task templates: no-op handlers that return a small object, timed by a Tracker. */
import { defineTask } from '../../definitions/define-task.js';
import type { StepHandler, TaskTemplate } from '../../definitions/types.js';
import type { Shape, Tracker } from './tracker.js';

export const BENCH_NAMESPACE = 'bench';

/**
 * Flow control on the single step (section flow): a concurrency key from `context.k` (the workload sets
 * k = i mod keys), a rate limit named `bench`, and/or a handler that takes `handlerMs`.
 */
export interface BenchFlow {
  readonly keys?: number;
  readonly limit?: number;
  readonly rateLimited?: boolean;
  readonly handlerMs?: number;
}

/**
 * The handler every step uses: records its start and end and returns `{ ok: true }`. With `handlerMs` it
 * takes that long, and `keyed` also records the task's key (`context.k`) for Tracker.keyHandoffs; the
 * instant handler records no key, so that the keyed W1 run measures the engine, not the bookkeeping.
 */
function noop(tracker: Tracker, handlerMs = 0, keyed = false): StepHandler {
  if (handlerMs > 0) {
    return async (ctx) => {
      tracker.started(ctx.task.id, ctx.step.name, performance.now());
      if (keyed) tracker.keyed(ctx.task.id, ctx.context.k);
      await new Promise((resolve) => setTimeout(resolve, handlerMs));
      tracker.ended(ctx.task.id, ctx.step.name, performance.now());
      return { ok: true };
    };
  }
  return (ctx) => {
    tracker.started(ctx.task.id, ctx.step.name, performance.now());
    tracker.ended(ctx.task.id, ctx.step.name, performance.now());
    return { ok: true };
  };
}

export function benchTemplate(shape: Shape, tracker: Tracker, flow?: BenchFlow): TaskTemplate {
  const handler = noop(tracker, flow?.handlerMs, Boolean(flow?.keys));
  const common = { namespace: BENCH_NAMESPACE, name: shape, version: '1.0.0' };
  switch (shape) {
    case 'single':
      return defineTask({
        ...common,
        steps: [
          {
            name: 'job',
            handler,
            ...(flow?.keys ? { concurrency: { key: 'k', limit: flow.limit ?? 1 } } : {}),
            ...(flow?.rateLimited ? { rateLimits: ['bench'] } : {}),
          },
        ],
      });
    case 'chain3':
      return defineTask({
        ...common,
        steps: [
          { name: 'a', handler },
          { name: 'b', dependsOn: ['a'], handler },
          { name: 'c', dependsOn: ['b'], handler },
        ],
      });
    case 'diamond':
      return defineTask({
        ...common,
        steps: [
          { name: 'a', handler },
          { name: 'b', dependsOn: ['a'], handler },
          { name: 'c', dependsOn: ['a'], handler },
          { name: 'd', dependsOn: ['b', 'c'], handler },
        ],
      });
  }
}
