/**
 * When the worker looks for work: NOTIFY when steps become ready elsewhere (or when delayed tasks were
 * created, at their time), a timer at each retry time it learns of, a claim after the LISTEN connection
 * reconnects (a notification may have fallen in the gap), and a slow poll as fallback, which also looks up
 * the next run time of anyone's step. Cancellation notices abort the cancelled task's running steps (and
 * mark its steps waiting for a slot, which then settle without running).
 */

import type { NotificationHub } from '../engine/notifications.js';
import { nextRunAt } from '../engine/sql/dispatch-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { StepAbortedError } from '../errors.js';
import type { Logger } from '../model/logger.js';
import type { WorkerSlots } from './worker-slots.js';

export interface WakeUpDeps {
  readonly sql: SqlContext;
  readonly slots: WorkerSlots;
  readonly namedTaskIds: readonly number[];
  readonly notifications: NotificationHub;
  readonly pollIntervalMs: number;
  readonly log: Logger;
  /** Something may be claimable now. */
  readonly onWake: () => void;
  /** The slow poll's turn. */
  readonly onPoll: () => void;
}

export interface WakeUps {
  /** Wakes the worker at `at` (epoch ms). */
  wakeAt(at: number): void;
  /** Looks up when the next queued step becomes claimable, and wakes then. */
  lookUpNextRun(): Promise<void>;
  /** Subscribes to notifications and starts the poll. */
  start(): Promise<void>;
  /** Unsubscribes and clears every timer. */
  stop(): void;
}

export function createWakeUps(deps: WakeUpDeps): WakeUps {
  const { slots } = deps;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  // Every time this worker has been told of and not yet woken for, sorted. One timer runs, for the
  // earliest; when it fires the next one is armed, so a later retry is not left to the fallback poll.
  let wakeTimes: number[] = [];
  let pollTimer: NodeJS.Timeout | undefined;
  const unsubscribes: Array<() => void> = [];

  function wakeAt(at: number): void {
    if (slots.state !== 'running') return;
    // Binary insertion keeps the list sorted without re-sorting it per retry.
    let lo = 0;
    let hi = wakeTimes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (wakeTimes[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    if (wakeTimes[lo] !== at) wakeTimes.splice(lo, 0, at);
    armTimer();
  }

  function armTimer(): void {
    const next = wakeTimes[0];
    if (next === undefined || next >= timerAt || slots.state !== 'running') return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        // A time is due once the clock has passed it (see the delay below). Node can fire a timer a
        // millisecond early (it reads its clock once per turn of the loop): a time not yet passed is kept
        // and the timer armed again for it, rather than claimed too early and forgotten.
        const now = Date.now();
        const due = wakeTimes.findIndex((t) => t >= now);
        wakeTimes = due < 0 ? [] : wakeTimes.slice(due);
        if (due !== 0) deps.onWake();
        armTimer();
      },
      // A time from the database has microseconds and a Date keeps milliseconds: woken at the truncated
      // millisecond, the claim could look before the step is due, find nothing and leave it to the poll.
      Math.max(0, next + 1 - Date.now()),
    );
    timer.unref();
  }

  async function lookUpNextRun(): Promise<void> {
    try {
      const at = await nextRunAt(deps.sql, deps.namedTaskIds);
      if (at && at.getTime() > Date.now()) wakeAt(at.getTime());
    } catch (error) {
      deps.log.warn({ err: error }, 'next run time lookup failed');
    }
  }

  return {
    wakeAt,
    lookUpNextRun,
    async start() {
      const { channels } = deps.sql;
      unsubscribes.push(
        await deps.notifications.subscribe(channels.ready, (payload) => {
          // Empty: something is ready now. A number: the earliest time (epoch ms) of delayed tasks just
          // created (migration 13); wake then.
          const at = payload ? Number(payload) : Number.NaN;
          if (Number.isFinite(at) && at > Date.now()) wakeAt(at);
          else deps.onWake();
        }),
        await deps.notifications.subscribe(channels.cancel, (payload) => {
          const taskId = Number(payload);
          const cancelled = () => new StepAbortedError('task_cancelled', `task ${taskId} was cancelled`);
          for (const execution of slots.running.values()) {
            if (execution.taskId === taskId) execution.controller.abort(cancelled());
          }
          // A step waiting for a slot settles as cancelled when its turn comes, without running.
          for (const waiting of slots.waiting.values()) {
            if (waiting.row.task_id === taskId) waiting.controller.abort(cancelled());
          }
        }),
        deps.notifications.onReconnect(deps.onWake),
      );
      pollTimer = setInterval(deps.onPoll, deps.pollIntervalMs);
      pollTimer.unref();
    },
    stop() {
      clearInterval(pollTimer);
      if (timer) clearTimeout(timer);
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
  };
}
