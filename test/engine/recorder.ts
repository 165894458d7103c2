/**
 * Records the order in which handlers start and end (a sequence, not clock times), and makes groups of
 * steps meet at a barrier: each member waits until every member has started, which proves they ran at
 * the same time (and fails the step if they never do).
 */
import type { StepContext, StepDefinition } from '../../src/index.js';

export interface Recorder {
  readonly log: string[];
  handler(name: string): (ctx: StepContext) => Promise<unknown>;
  /** Index of an event in the log ('start:x' / 'end:x'); -1 when absent. */
  at(event: string): number;
}

export function createRecorder(options: { barriers?: string[][]; barrierTimeoutMs?: number } = {}): Recorder {
  const log: string[] = [];
  const started = new Set<string>();
  const waiters: Array<() => void> = [];
  const groupOf = (name: string) => options.barriers?.find((g) => g.includes(name));
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };

  return {
    log,
    at: (event) => log.indexOf(event),
    handler(name) {
      return async (ctx) => {
        log.push(`start:${name}`);
        started.add(name);
        wake();
        const group = groupOf(name);
        if (group) {
          const deadline = Date.now() + (options.barrierTimeoutMs ?? 10_000);
          while (!group.every((member) => started.has(member))) {
            if (Date.now() > deadline)
              throw new Error(`barrier: ${group.join(', ')} never ran at the same time`);
            await new Promise<void>((resolve) => {
              waiters.push(resolve);
              setTimeout(resolve, 50);
            });
          }
        }
        log.push(`end:${name}`);
        return { step: name, parents: Object.keys(ctx.parents).sort() };
      };
    },
  };
}

/** Steps for a shape given as { step: [parents] }. */
export function stepsOf(shape: Record<string, string[]>, recorder: Recorder): StepDefinition[] {
  return Object.entries(shape).map(([name, dependsOn]) => ({
    name,
    dependsOn,
    handler: recorder.handler(name),
  }));
}
