/**
 * Admitting claimed steps: a claimed step starts at once when a slot is free, otherwise it waits in the
 * worker's line (prefetch) and starts when a running step settles. Starting from the line is deferred to
 * the next turn of the event loop, after the round trip that the settled steps' outcomes queued: the
 * database records those while this process runs the next steps, instead of one waiting for the other.
 */
import type { DispatchRow } from '../engine/sql/dispatch-queries.js';
import type { WorkerSlots } from './worker-slots.js';

export interface Admission {
  /** A claimed step: started now, or queued behind the running ones. */
  admit(row: DispatchRow): void;
  /** A slot may have freed: start waiting steps into the free slots (soon, not now). */
  fill(): void;
}

export function createAdmission(
  slots: WorkerSlots,
  start: (row: DispatchRow, controller?: AbortController) => void,
): Admission {
  let fillScheduled = false;

  function startWaiting(): void {
    fillScheduled = false;
    // While stopping, nothing new starts: shutdown releases the line.
    if (slots.state !== 'running') return;
    for (const [stepId, waiting] of slots.waiting) {
      if (slots.running.size >= slots.concurrency) return;
      slots.waiting.delete(stepId);
      start(waiting.row, waiting.controller);
    }
  }

  return {
    admit(row) {
      if (slots.running.size < slots.concurrency && slots.waiting.size === 0) {
        start(row);
        return;
      }
      slots.waiting.set(row.step_id!, { row, controller: new AbortController() });
      fill();
    },
    fill,
  };

  function fill(): void {
    if (fillScheduled || slots.waiting.size === 0) return;
    fillScheduled = true;
    setImmediate(startWaiting);
  }
}
