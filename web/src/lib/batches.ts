/**
 * The dynamic steps as the dashboard shows them: batch workers grouped under their batch step (a batch
 * may have thousands) with a count and progress instead of one row or node each, compensation steps in
 * words, and the child task a step started.
 */
import type { Step } from '../api/types.js';

export interface BatchProgress {
  readonly total: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
}

const DONE = new Set(['complete', 'resolved_manually', 'skipped']);

/** The workers of each batch step, by the batch step's id, in batch order. */
export function batchWorkers(steps: readonly Step[]): Map<number, Step[]> {
  const groups = new Map<number, Step[]>();
  for (const s of steps) {
    if (s.batchParentId == null) continue;
    const group = groups.get(s.batchParentId) ?? [];
    group.push(s);
    groups.set(s.batchParentId, group);
  }
  for (const group of groups.values()) group.sort((a, b) => (a.batchIndex ?? 0) - (b.batchIndex ?? 0));
  return groups;
}

export function batchProgress(workers: readonly Step[]): BatchProgress {
  let done = 0;
  let running = 0;
  let failed = 0;
  for (const w of workers) {
    if (DONE.has(w.state)) done++;
    else if (w.state === 'in_progress') running++;
    else if (w.state === 'error' || w.state === 'cancelled') failed++;
  }
  return { total: workers.length, done, running, failed };
}

export function describeProgress(p: BatchProgress): string {
  return `${p.done}/${p.total} workers done${p.running ? `, ${p.running} running` : ''}${p.failed ? `, ${p.failed} failed` : ''}`;
}

/** A compensation step in words: what it undoes, or that it is the failure handler. */
export function compensationLabel(step: Step): string | null {
  if (step.compensation === 'on_failure') return 'failure handler';
  if (step.compensation === 'undo') {
    const undoing = (step.inputs as { undoing?: unknown } | null)?.undoing;
    return typeof undoing === 'string' ? `undoes ${undoing}` : 'undo step';
  }
  return null;
}

/** The child task a step started (kept in its inputs while it waits, in its results once done); null: none. */
export function childTaskOf(step: Pick<Step, 'inputs' | 'results'>): number | null {
  for (const source of [step.inputs, step.results]) {
    const value = (source as { child_task_id?: unknown; childTaskId?: unknown } | null) ?? null;
    const id = value?.child_task_id ?? value?.childTaskId;
    if (typeof id === 'number') return id;
  }
  return null;
}
