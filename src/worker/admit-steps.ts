/**
 * Admitting claimed steps: a claimed step starts at once when a slot is free, otherwise it waits in the
 * worker's line (prefetch) and starts when a running step settles. A step that continues a task (a child
 * its parent's outcome made ready) goes to the front of the line, so that a task under way is not held up
 * behind new ones: the hand-off from parent to child stays one round trip. Starting from the line is
 * deferred to the next turn of the event loop, after the round trip that the settled steps' outcomes
 * queued: the database records those while this process runs the next steps.
 *
 * A step with a concurrency key starts only while fewer than its limit run here: a step leased in line
 * (kind queued) waits for this worker's holder of its key to end, then starts without a round trip.
 */
import type { DispatchRow } from '../engine/sql/dispatch-queries.js';
import { createStepAbort, type StepAbort } from './step-abort.js';
import { keyAllows, type WorkerSlots } from './worker-slots.js';

export interface Admission {
  /**
   * The steps a round trip claimed: started now while slots are free, the rest queued. Steps that continue
   * a task (they have parents) go to the front of the line, the others to its back.
   */
  admit(rows: readonly DispatchRow[]): void;
  /**
   * Steps claimed outside the worker's round trips (by createTask, migration 40): into the line at once,
   * where a cancellation notice finds them, and started from it on the next turn of the event loop.
   */
  enqueue(rows: readonly DispatchRow[]): void;
  /** A slot may have freed: start waiting steps into the free slots (soon, not now). */
  fill(): void;
  /**
   * Stopping: empties the line. Steps whose task was cancelled while they waited settle now (as cancelled,
   * without running); the ids of the others are returned, to be released.
   */
  empty(): number[];
}

/** A step that continues a task already under way: it has its parents' results. */
function continuesTask(row: DispatchRow): boolean {
  return row.parent_results !== null && Object.keys(row.parent_results).length > 0;
}

export function createAdmission(
  slots: WorkerSlots,
  start: (row: DispatchRow, controller?: StepAbort) => void,
): Admission {
  let fillScheduled = false;

  function startWaiting(): void {
    fillScheduled = false;
    // While stopping, nothing new starts: shutdown releases the line.
    if (slots.state !== 'running') return;
    for (const [stepId, waiting] of slots.waiting) {
      if (slots.running.size >= slots.concurrency) return;
      if (!keyAllows(slots, waiting.row)) continue;
      slots.waiting.delete(stepId);
      start(waiting.row, waiting.controller);
    }
  }

  /** A step in line could start now if a slot were free (steps in line behind a key's holder cannot). */
  function canStartWaiting(): boolean {
    for (const waiting of slots.waiting.values()) if (keyAllows(slots, waiting.row)) return true;
    return false;
  }

  function fill(): void {
    if (fillScheduled || slots.waiting.size === 0) return;
    fillScheduled = true;
    setImmediate(startWaiting);
  }

  /** Puts claimed steps in the line: those that continue a task at its front, the others at its back. */
  function line(rows: readonly DispatchRow[]): void {
    const front: DispatchRow[] = [];
    const back: DispatchRow[] = [];
    for (const row of rows) (continuesTask(row) ? front : back).push(row);
    const entry = (row: DispatchRow) => [row.step_id!, { row, controller: createStepAbort() }] as const;
    if (front.length > 0) {
      const earlier = [...slots.waiting];
      slots.waiting.clear();
      for (const row of front) slots.waiting.set(...entry(row));
      for (const [stepId, waiting] of earlier) slots.waiting.set(stepId, waiting);
    }
    for (const row of back) slots.waiting.set(...entry(row));
    fill();
  }

  return {
    admit(rows) {
      let i = 0;
      // Nobody waits who could start: start what fits (the reply lists the steps that continue tasks
      // first), up to a step whose key is full here.
      if (!canStartWaiting()) {
        for (; i < rows.length && slots.running.size < slots.concurrency; i++) {
          if (!keyAllows(slots, rows[i]!)) break;
          start(rows[i]!);
        }
      }
      if (i < rows.length) line(rows.slice(i));
    },
    enqueue(rows) {
      if (rows.length > 0) line(rows);
    },
    fill,
    empty() {
      const release: number[] = [];
      const waiting = [...slots.waiting.values()];
      slots.waiting.clear();
      for (const { row, controller } of waiting) {
        if (controller.aborted) start(row, controller);
        else release.push(row.step_id!);
      }
      return release;
    },
  };
}
