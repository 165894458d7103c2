/** The benchmark's task templates: no-op handlers that return a small object, timed by a Tracker. */
import { defineTask } from '../../definitions/define-task.js';
import type { StepHandler, TaskTemplate } from '../../definitions/types.js';
import type { Shape, Tracker } from './tracker.js';

export const BENCH_NAMESPACE = 'bench';

/** The handler every step uses: records its start and end and returns `{ ok: true }`. */
function noop(tracker: Tracker): StepHandler {
  return (ctx) => {
    tracker.started(ctx.task.id, ctx.step.name, performance.now());
    tracker.ended(ctx.task.id, ctx.step.name, performance.now());
    return { ok: true };
  };
}

export function benchTemplate(shape: Shape, tracker: Tracker): TaskTemplate {
  const handler = noop(tracker);
  const common = { namespace: BENCH_NAMESPACE, name: shape, version: '1.0.0' };
  switch (shape) {
    case 'single':
      return defineTask({ ...common, steps: [{ name: 'job', handler }] });
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
