/**
 * Timestamps recorded inside the no-op handlers, as the peers' harness does: a step "ends" right before
 * its handler returns, and the dependent step "starts" at the first line of its handler. Everything runs
 * in one process, so the two share performance.now(). Hand-off latency = child start - parent end (for a
 * join: D start - max(B end, C end)).
 */
import { percentile, sortedCopy } from '../stats.js';

/** The workloads' task shapes, as the peers' harness names them. */
export const SHAPES = ['single', 'chain3', 'diamond'] as const;
export type Shape = (typeof SHAPES)[number];

export const STEPS_PER_TASK: Readonly<Record<Shape, number>> = { single: 1, chain3: 3, diamond: 4 };

/** The step whose end means the task's work is done. */
export const FINAL_STEP: Readonly<Record<Shape, string>> = { single: 'job', chain3: 'c', diamond: 'd' };

const STEP_INDEX: Readonly<Record<string, number>> = { job: 0, a: 0, b: 1, c: 2, d: 3 };

interface TaskTimes {
  readonly start: Float64Array;
  readonly end: Float64Array;
}

export interface HandoffStats {
  readonly samples: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly maxMs: number | null;
}

export class Tracker {
  readonly #times = new Map<number, TaskTimes>();
  readonly #finalWaiters = new Map<number, () => void>();
  readonly #finalSeen = new Set<number>();
  /** The concurrency key of each task (flow control runs only). */
  readonly #keys = new Map<number, unknown>();
  #allWaiters: Array<{ n: number; resolve: () => void }> = [];
  stepRuns = 0;
  finalRuns = 0;

  constructor(readonly shape: Shape) {}

  #entry(taskId: number): TaskTimes {
    let t = this.#times.get(taskId);
    if (!t) {
      t = { start: new Float64Array(4).fill(Number.NaN), end: new Float64Array(4).fill(Number.NaN) };
      this.#times.set(taskId, t);
    }
    return t;
  }

  started(taskId: number, step: string, at: number): void {
    this.#entry(taskId).start[STEP_INDEX[step] ?? 0] = at;
  }

  /** Notes the concurrency key a task's step ran under (see keyHandoffs). */
  keyed(taskId: number, key: unknown): void {
    this.#keys.set(taskId, key);
  }

  ended(taskId: number, step: string, at: number): void {
    this.stepRuns++;
    this.#entry(taskId).end[STEP_INDEX[step] ?? 0] = at;
    if (step !== FINAL_STEP[this.shape]) return;
    this.finalRuns++;
    this.#finalSeen.add(taskId);
    this.#finalWaiters.get(taskId)?.();
    this.#finalWaiters.delete(taskId);
    const ready = this.#allWaiters.filter((w) => this.finalRuns >= w.n);
    this.#allWaiters = this.#allWaiters.filter((w) => this.finalRuns < w.n);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the final step of `n` tasks has run. */
  allFinal(n: number): Promise<void> {
    if (this.finalRuns >= n) return Promise.resolve();
    return new Promise((resolve) => this.#allWaiters.push({ n, resolve }));
  }

  /** Resolves once this task's final step has run (at once if it already has). */
  final(taskId: number): Promise<void> {
    if (this.#finalSeen.has(taskId)) return Promise.resolve();
    return new Promise((resolve) => this.#finalWaiters.set(taskId, resolve));
  }

  /** Step -> next step latencies: both hops of chains; A -> B/C (fan-out) of diamonds. */
  handoffs(): HandoffStats {
    const xs: number[] = [];
    for (const t of this.#times.values()) {
      if (this.shape === 'chain3') xs.push(t.start[1]! - t.end[0]!, t.start[2]! - t.end[1]!);
      if (this.shape === 'diamond') xs.push(t.start[1]! - t.end[0]!, t.start[2]! - t.end[0]!);
    }
    return stats(xs);
  }

  /**
   * Single-step tasks with a concurrency key: how long each key's slot stood empty, from one step's end to
   * the start of the next step with the same key (in start order).
   */
  keyHandoffs(): HandoffStats {
    const byKey = new Map<unknown, TaskTimes[]>();
    for (const [taskId, key] of this.#keys) {
      const t = this.#times.get(taskId);
      if (!t) continue;
      const list = byKey.get(key);
      if (list) list.push(t);
      else byKey.set(key, [t]);
    }
    const xs: number[] = [];
    for (const list of byKey.values()) {
      list.sort((a, b) => a.start[0]! - b.start[0]!);
      for (let i = 1; i < list.length; i++) xs.push(list[i]!.start[0]! - list[i - 1]!.end[0]!);
    }
    return stats(xs);
  }

  /**
   * Mean steps in flight while steps ran: the handlers' summed run time over the span from the first
   * step's start to the last one's end (the workers' start-up and first claim are outside it).
   */
  meanInFlightWhileRunning(): number | null {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let busy = 0;
    for (const t of this.#times.values()) {
      for (let i = 0; i < 4; i++) {
        const start = t.start[i]!;
        const end = t.end[i]!;
        if (Number.isNaN(start) || Number.isNaN(end)) continue;
        first = Math.min(first, start);
        last = Math.max(last, end);
        busy += end - start;
      }
    }
    return last > first ? busy / (last - first) : null;
  }

  /** Diamonds: D start - max(B end, C end). */
  joins(): HandoffStats {
    const xs: number[] = [];
    if (this.shape === 'diamond') {
      for (const t of this.#times.values()) xs.push(t.start[3]! - Math.max(t.end[1]!, t.end[2]!));
    }
    return stats(xs);
  }
}

function stats(values: number[]): HandoffStats {
  const sorted = sortedCopy(values);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : null,
  };
}
