/**
 * What the worker's parts share: its state, the steps it runs, and the outcomes waiting to be recorded.
 *
 * The states, in one place:
 * - `running`: wake-ups and the dispatch loop claim steps into free slots; outcomes are recorded.
 * - `stopping`: nothing is claimed; running steps get until the shutdown timeout to finish, their outcomes
 *   are recorded, what is still running is aborted and released (no attempt charged).
 * - `stopped`: no timer, subscription or round trip is left.
 */
import type { StepOutcome } from '../engine/sql/dispatch-queries.js';
import type { StepRunInfo } from '../model/step-run.js';

export type WorkerState = 'running' | 'stopping' | 'stopped';

/** One attempt of a step running on this worker. */
export interface Execution {
  readonly stepId: number;
  readonly taskId: number;
  readonly attempt: number;
  readonly controller: AbortController;
  /** Its outcome must not be recorded (lease lost, or released at shutdown). */
  abandoned: boolean;
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
  /** Running attempts by step id. */
  readonly running: Map<number, Execution>;
  /** Outcomes not yet sent to the database, oldest first. */
  readonly outcomes: PendingOutcome[];
}

export function createWorkerSlots(id: string, concurrency: number): WorkerSlots {
  return { id, state: 'running', concurrency, running: new Map(), outcomes: [] };
}
