/**
 * The critical path of a task: the chain of dependent steps that decides how long the task takes.
 *
 * With the task's clock (`timing`), each step counts for the time the task spent on it: from when it
 * could start (its last parent finished, or the task started) to when it finished, so waiting for a
 * worker, failed attempts and backoff are included, and on a finished task the path's duration is the
 * task's. A running step counts until now; a step that has not run yet in a task still running counts
 * for the time it has waited plus an estimate (by step name, else the mean of the recorded attempts,
 * else a default). Steps that never ran and never will (below a failed step, cancelled, bypassed, or
 * left over in a finished task) are on no path.
 *
 * Without timing (pure graphs), each step counts for its recorded attempt or the estimate.
 */
import type { GraphStep } from './graph-step.js';

export interface CriticalPath {
  /** From root to leaf. */
  readonly stepIds: readonly number[];
  readonly durationMs: number;
  /** The time each step counts for (steps on no possible path are absent). */
  readonly durations: ReadonlyMap<number, number>;
  /** Steps whose time is not final: running (so far) or not run yet (estimated). */
  readonly estimated: ReadonlySet<number>;
}

/** The task's clock, in milliseconds since the epoch. */
export interface TaskTiming {
  /** When the task started (its first step did); null when nothing has started. */
  readonly startedAtMs: number | null;
  /** Now for a running task; when it finished for a finished one. */
  readonly nowMs: number;
  /** Whether steps that have not run may still run (the task is pending or in progress). */
  readonly active: boolean;
}

export interface CriticalPathOptions {
  /** Estimated durations by step name, for steps that have not run. */
  readonly estimatesMs?: Readonly<Record<string, number>>;
  /** Estimate for a step with neither a recorded duration nor an estimate. @defaultValue mean of recorded, else 1000 */
  readonly defaultEstimateMs?: number;
  readonly timing?: TaskTiming;
}

const RUNNING = new Set(['in_progress', 'waiting_for_retry']);

/** Whether a step has no part in the task's time: it never ran and never will (or it was bypassed). */
export function neverRuns(step: GraphStep, timing?: TaskTiming): boolean {
  const ran = step.lastAttemptedAtMs != null || step.state === 'resolved_manually';
  if (ran) return false;
  if (step.state === 'skipped' || step.state === 'cancelled' || step.state === 'error') return true;
  if (step.blocked) return true;
  return timing !== undefined && !timing.active;
}

export function stepDurations(
  steps: readonly GraphStep[],
  options: Omit<CriticalPathOptions, 'timing'> = {},
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

/**
 * Each step's time on the task's clock (see the module comment); steps that never run are left out.
 * Throws on a cycle or an unknown parent.
 */
export function stepSpans(
  steps: readonly GraphStep[],
  timing: TaskTiming,
  options: Omit<CriticalPathOptions, 'timing'> = {},
): { durations: Map<number, number>; estimated: Set<number> } {
  const estimates = stepDurations(steps, options).durations;
  const byId = new Map(steps.map((s) => [s.id, s]));
  const start = timing.startedAtMs ?? timing.nowMs;
  const elapsed = Math.max(0, timing.nowMs - start);
  // Finish time of each step, in ms after the task started; null for steps that never run.
  const finish = new Map<number, number | null>();
  const durations = new Map<number, number>();
  const estimated = new Set<number>();
  const visiting = new Set<number>();
  const finishOf = (id: number): number | null => {
    if (finish.has(id)) return finish.get(id)!;
    const step = byId.get(id);
    if (!step) throw new Error(`step ${id} is named as a parent but is not part of the task`);
    if (visiting.has(id)) throw new Error(`the steps form a cycle through step ${id}`);
    visiting.add(id);
    let ready = 0;
    for (const parent of step.parentIds) ready = Math.max(ready, finishOf(parent) ?? 0);
    visiting.delete(id);
    let end: number | null;
    if (neverRuns(step, timing)) {
      end = null;
    } else if (step.completedAtMs != null && !RUNNING.has(step.state)) {
      end = Math.max(ready, step.completedAtMs - start);
    } else if (step.lastAttemptedAtMs != null && timing.active) {
      end = Math.max(ready, elapsed); // running (or between attempts): so far
      estimated.add(id);
    } else {
      end = Math.max(ready, elapsed) + estimates.get(id)!; // not run yet: waited so far plus the estimate
      estimated.add(id);
    }
    finish.set(id, end);
    if (end !== null) durations.set(id, end - ready);
    return end;
  };
  for (const step of steps) finishOf(step.id);
  return { durations, estimated };
}

export function criticalPath(steps: readonly GraphStep[], options: CriticalPathOptions = {}): CriticalPath {
  const { durations, estimated } = options.timing
    ? stepSpans(steps, options.timing, options)
    : stepDurations(
        steps.filter((s) => !neverRuns(s)),
        options,
      );
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
      if (!durations.has(parent)) continue;
      if (via === null || total > best || (total === best && parent < via)) {
        best = total;
        via = parent;
      }
    }
    visiting.delete(id);
    const total = best + (durations.get(id) ?? 0);
    finish.set(id, { total, via });
    return total;
  };
  let end: number | null = null;
  let endTotal = -1;
  for (const step of steps) {
    const total = longest(step.id);
    if (durations.has(step.id) && total > endTotal) {
      endTotal = total;
      end = step.id;
    }
  }
  const path: number[] = [];
  for (let id = end; id !== null; id = finish.get(id)!.via) path.unshift(id);
  return { stepIds: path, durationMs: Math.max(0, endTotal), durations, estimated };
}
