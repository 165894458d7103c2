/**
 * What a step that waits is waiting for, read from its row (pure): the batch's workers, a child task,
 * a signal, a sleep, a free slot of a concurrency key, or rate-limit tokens. The same on every surface
 * (API `waiting`, the state label, the dashboard, the CLI).
 */
import type { StepState } from './states.js';

export type StepWaitKind = 'batch' | 'child' | 'signal' | 'sleep' | 'key' | 'rate_limit';

export interface StepWait {
  readonly for: StepWaitKind;
  /** When the wait began. */
  readonly since: Date | null;
  /** When it ends at the latest (a sleep's end, a signal's timeout, the tokens' time); null: open. */
  readonly until: Date | null;
  /** The signal's name, or the concurrency key. */
  readonly name: string | null;
  /** The child task. */
  readonly taskId: number | null;
  /** Batch workers not finished yet. */
  readonly pending: number | null;
}

export interface StepWaitRow {
  readonly state: StepState;
  readonly parked_on: string | null;
  readonly throttled_at: Date | null;
  readonly waiting_since?: Date | null;
  readonly wait?: unknown;
  readonly run_at: Date | null;
  readonly batch_pending?: number | null;
}

export function stepWait(row: StepWaitRow, now: Date = new Date()): StepWait | null {
  if (row.state !== 'pending' && row.state !== 'waiting_for_retry') return null;
  const since = row.waiting_since ?? row.throttled_at;
  const base = { since, until: null, name: null, taskId: null, pending: null };
  const parked = row.parked_on;
  if (parked !== null) {
    const [prefix, ...rest] = parked.split(':');
    if (prefix === 'batch') return { ...base, for: 'batch', pending: row.batch_pending ?? null };
    if (prefix === 'child') return { ...base, for: 'child', taskId: Number(rest[0]) };
    if (prefix === 'signal') return { ...base, for: 'signal', name: rest.slice(1).join(':') };
    return { ...base, for: 'key', name: parked };
  }
  if (row.throttled_at === null || row.run_at === null || row.run_at <= now) return null;
  const wait = (row.wait ?? null) as { signal?: string } | null;
  if (wait !== null && typeof wait.signal === 'string') {
    return { ...base, for: 'signal', name: wait.signal, until: row.run_at };
  }
  if (wait !== null) return { ...base, for: 'sleep', until: row.run_at };
  return { ...base, for: 'rate_limit', until: row.run_at };
}

/** The wait in words, e.g. `waiting for signal "approved"`. */
export function stepWaitLabel(wait: StepWait): string {
  const until = wait.until ? ` until ${wait.until.toISOString()}` : '';
  switch (wait.for) {
    case 'batch':
      return wait.pending === null
        ? 'waiting for its batch workers'
        : `waiting for ${wait.pending} batch worker${wait.pending === 1 ? '' : 's'}`;
    case 'child':
      return `waiting for child task ${wait.taskId}`;
    case 'signal':
      return `waiting for signal "${wait.name}"${until}`;
    case 'sleep':
      return `sleeping${until}`;
    case 'key':
      return `waiting for a slot of concurrency key ${wait.name}`;
    case 'rate_limit':
      return `waiting for rate-limit tokens${until}`;
  }
}
