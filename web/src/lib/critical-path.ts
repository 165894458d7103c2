/**
 * The critical path of a task's DAG: the chain of steps, parent to child, with the largest total
 * duration. The server computes it when it can (`include=dependencies`); otherwise the dashboard computes
 * it here from recorded durations (steps that never ran are on no path) and labels it as its own estimate.
 */

export interface PathStep {
  readonly id: number;
  readonly parentIds: readonly number[];
  readonly durationMs: number;
}

export interface CriticalPath {
  readonly stepIds: readonly number[];
  readonly durationMs: number;
  /** Who computed it: the server's dependency analysis, or this module. */
  readonly source: 'server' | 'client';
}

/** Longest path by duration in a DAG (ties go to the earlier step); steps on a cycle are ignored. */
export function longestPath(steps: readonly PathStep[]): { stepIds: number[]; durationMs: number } {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const children = new Map<number, number[]>();
  const waiting = new Map<number, number>();
  for (const step of steps) {
    const parents = step.parentIds.filter((p) => byId.has(p));
    waiting.set(step.id, parents.length);
    for (const parent of parents) {
      const list = children.get(parent) ?? [];
      list.push(step.id);
      children.set(parent, list);
    }
  }
  const best = new Map<number, { total: number; previous: number | null }>();
  const queue = steps.filter((s) => waiting.get(s.id) === 0).map((s) => s.id);
  while (queue.length > 0) {
    const id = queue.shift()!;
    const step = byId.get(id)!;
    let previous: number | null = null;
    let before = 0;
    for (const parent of step.parentIds) {
      const entry = best.get(parent);
      if (entry && (previous === null || entry.total > before)) {
        previous = parent;
        before = entry.total;
      }
    }
    best.set(id, { total: before + Math.max(0, step.durationMs), previous });
    for (const child of children.get(id) ?? []) {
      const left = (waiting.get(child) ?? 0) - 1;
      waiting.set(child, left);
      if (left === 0) queue.push(child);
    }
  }
  let end: number | null = null;
  let total = -1;
  for (const step of steps) {
    const entry = best.get(step.id);
    if (entry && entry.total > total) {
      end = step.id;
      total = entry.total;
    }
  }
  const path: number[] = [];
  for (let id = end; id !== null; id = best.get(id)?.previous ?? null) path.unshift(id);
  return { stepIds: path, durationMs: Math.max(0, total) };
}

/**
 * The server's critical path when it sent one (by step ids or by names), else a client-side longest path
 * by `durations` (e.g. each step's span on the timeline).
 */
export function criticalPathOf(
  steps: ReadonlyArray<{ readonly id: number; readonly name: string; readonly parentIds: readonly number[] }>,
  durations: ReadonlyMap<number, number>,
  server?: {
    readonly stepIds?: readonly number[];
    readonly steps?: readonly string[];
    readonly durationMs?: number;
  },
): CriticalPath {
  if (server) {
    const known = new Set(steps.map((s) => s.id));
    const ids =
      server.stepIds?.filter((id) => known.has(id)) ??
      server.steps?.flatMap((name) => steps.filter((s) => s.name === name).map((s) => s.id)) ??
      [];
    if (ids.length > 0) return { stepIds: ids, durationMs: server.durationMs ?? 0, source: 'server' };
  }
  // Steps without a recorded time never ran: they are on no path.
  const path = longestPath(
    steps
      .filter((s) => durations.has(s.id))
      .map((s) => ({ id: s.id, parentIds: s.parentIds, durationMs: durations.get(s.id)! })),
  );
  return { ...path, source: 'client' };
}
