/**
 * The critical path of a task: the chain of dependent steps with the longest total duration, i.e. the
 * least time the task takes however many workers run it. Finished steps count with their recorded
 * duration; the others with an estimate (by step name, else the mean of the recorded ones, else a default).
 */
import type { GraphStep } from './task-dependencies.js';

export interface CriticalPath {
  /** From root to leaf. */
  readonly stepIds: readonly number[];
  readonly durationMs: number;
  /** The duration used for every step (recorded or estimated). */
  readonly durations: ReadonlyMap<number, number>;
  /** Steps whose duration is an estimate. */
  readonly estimated: ReadonlySet<number>;
}

export function stepDurations(
  steps: readonly GraphStep[],
  options: { estimatesMs?: Readonly<Record<string, number>>; defaultEstimateMs?: number } = {},
): { durations: Map<number, number>; estimated: Set<number> } {
  const recorded = steps.filter((s) => s.durationMs !== null).map((s) => s.durationMs!);
  const fallback =
    options.defaultEstimateMs ??
    (recorded.length > 0 ? recorded.reduce((a, b) => a + b, 0) / recorded.length : 1000);
  const durations = new Map<number, number>();
  const estimated = new Set<number>();
  for (const step of steps) {
    if (step.durationMs !== null) {
      durations.set(step.id, step.durationMs);
    } else {
      durations.set(step.id, options.estimatesMs?.[step.name] ?? fallback);
      estimated.add(step.id);
    }
  }
  return { durations, estimated };
}

export function criticalPath(
  steps: readonly GraphStep[],
  options: { estimatesMs?: Readonly<Record<string, number>>; defaultEstimateMs?: number } = {},
): CriticalPath {
  const { durations, estimated } = stepDurations(steps, options);
  const byId = new Map(steps.map((s) => [s.id, s]));
  // Longest finish time ending at each step, with the parent it came through.
  const finish = new Map<number, { total: number; via: number | null }>();
  const visiting = new Set<number>();
  const longest = (id: number): number => {
    const known = finish.get(id);
    if (known) return known.total;
    const step = byId.get(id);
    if (!step) throw new Error(`step ${id} is named as a parent but is not part of the task`);
    if (visiting.has(id)) throw new Error(`the steps form a cycle through step ${id}`);
    visiting.add(id);
    let best = 0;
    let via: number | null = null;
    for (const parent of step.parentIds) {
      const total = longest(parent);
      if (via === null || total > best || (total === best && parent < via)) {
        best = total;
        via = parent;
      }
    }
    visiting.delete(id);
    const total = best + durations.get(id)!;
    finish.set(id, { total, via });
    return total;
  };
  let end: number | null = null;
  let endTotal = -1;
  for (const step of steps) {
    const total = longest(step.id);
    if (total > endTotal) {
      endTotal = total;
      end = step.id;
    }
  }
  const path: number[] = [];
  for (let id = end; id !== null; id = finish.get(id)!.via) path.unshift(id);
  return { stepIds: path, durationMs: Math.max(0, endTotal), durations, estimated };
}
