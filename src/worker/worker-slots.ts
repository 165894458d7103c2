/**
 * What the worker's parts share: its state, the steps it runs, and the outcomes waiting to be recorded.
 *
 * The states, in one place:
 * - `running`: wake-ups and the dispatch loop claim steps into free slots (and, with prefetch, into the
 *   waiting line); outcomes are recorded.
 * - `stopping`: nothing is claimed or started; the waiting line is released at once; running steps get
 *   until the shutdown timeout to finish, their outcomes are recorded, what is still running is aborted
 *   and released (no attempt charged).
 * - `stopped`: no timer, subscription or round trip is left.
 */
import type { DispatchRow, StepOutcome } from '../engine/sql/dispatch-queries.js';
import type { StepRunInfo } from '../model/step-run.js';
import type { StepAbort } from './step-abort.js';

export type WorkerState = 'running' | 'stopping' | 'stopped';

/** One attempt of a step running on this worker. */
export interface Execution {
  readonly stepId: number;
  readonly taskId: number;
  readonly attempt: number;
  readonly controller: StepAbort;
  /** Its outcome must not be recorded (lease lost, or released at shutdown). */
  abandoned: boolean;
}

/**
 * A step claimed ahead (prefetch): leased to this worker, its handler not started yet. Its controller
 * carries an abort that arrives while it waits (its task cancelled), so it settles without running.
 */
export interface WaitingStep {
  readonly row: DispatchRow;
  readonly controller: StepAbort;
}

/** An outcome waiting to be recorded, with what events about it need. */
export interface PendingOutcome {
  readonly outcome: StepOutcome;
  readonly info: StepRunInfo;
  readonly durationMs: number;
}

export interface WorkerSlots {
  readonly id: string;
  state: WorkerState;
  readonly concurrency: number;
  /** Steps claimed beyond `concurrency`, waiting for a slot. */
  readonly prefetch: number;
  /** Running attempts by step id. */
  readonly running: Map<number, Execution>;
  /**
   * Claimed steps waiting for a slot, by step id, in claim order: prefetched steps, and steps leased in
   * line behind this worker's holders of their concurrency key (kind queued), which also wait for fewer
   * than their key's limit to run here (`keyed`).
   */
  readonly waiting: Map<number, WaitingStep>;
  /** Running steps with a concurrency key, by key. */
  readonly keyed: Map<string, number>;
  /** Outcomes not yet sent to the database, oldest first. */
  readonly outcomes: PendingOutcome[];
}

export function createWorkerSlots(id: string, concurrency: number, prefetch = 0): WorkerSlots {
  return {
    id,
    state: 'running',
    concurrency,
    prefetch,
    running: new Map(),
    waiting: new Map(),
    keyed: new Map(),
    outcomes: [],
  };
}

/** Steps this worker holds a lease on and knows of: running or waiting. */
export function heldStepIds(slots: WorkerSlots): number[] {
  return [...slots.running.keys(), ...slots.waiting.keys()];
}

/** How many more steps a claim may take now: free slots plus room in the waiting line. */
export function claimRoom(slots: WorkerSlots): number {
  if (slots.state !== 'running') return 0;
  return Math.max(0, slots.concurrency + slots.prefetch - slots.running.size - slots.waiting.size);
}

/** Whether a claimed step may start as far as its concurrency key goes: fewer than its limit run here. */
export function keyAllows(slots: WorkerSlots, row: DispatchRow): boolean {
  if (row.concurrency_key === null || row.concurrency_limit === null) return true;
  return (slots.keyed.get(row.concurrency_key) ?? 0) < row.concurrency_limit;
}

/** A step with a concurrency key started (+1) or ended (-1) here. */
export function countKeyed(slots: WorkerSlots, key: string | null, delta: 1 | -1): void {
  if (key === null) return;
  const n = (slots.keyed.get(key) ?? 0) + delta;
  if (n > 0) slots.keyed.set(key, n);
  else slots.keyed.delete(key);
}
