/**
 * Stopping a worker gracefully: it claims and starts nothing more (`stopping`), releases the steps waiting
 * for a slot (prefetch) at once, waits up to the shutdown timeout for its running steps and records their
 * outcomes, aborts and releases (without charging an attempt) whatever is still running, records its stop,
 * and is `stopped`.
 */
import type { SqlContext } from '../engine/sql/sql-context.js';
import { releaseSteps, stopWorker } from '../engine/sql/worker-queries.js';
import { StepAbortedError } from '../errors.js';
import type { Logger } from '../model/logger.js';
import type { DispatchLoop } from './dispatch-loop.js';
import type { WorkerSlots } from './worker-slots.js';

export interface ShutdownDeps {
  readonly sql: SqlContext;
  readonly slots: WorkerSlots;
  readonly dispatch: DispatchLoop;
  readonly shutdownTimeoutMs: number;
  readonly log: Logger;
  /** Stops claiming: wake-ups off. */
  readonly stopWakeUps: () => void;
  /** Empties the waiting line (prefetch): the ids to release (a cancelled task's steps settle instead). */
  readonly emptyLine: () => number[];
  /** Stops renewing leases (after the last outcomes are recorded). */
  readonly stopLeaseKeeper: () => void;
  readonly onStopped: () => void;
}

export interface Shutdown {
  /** Resolves when stopped. Safe to call more than once. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** A step settled or a round trip came back: wakes the drain when nothing is left. */
  checkIdle(): void;
}

export function createShutdown(deps: ShutdownDeps): Shutdown {
  const { slots, dispatch, log } = deps;
  let stopping: Promise<void> | null = null;
  let whenIdle: (() => void) | null = null;
  const busy = () => slots.running.size > 0 || slots.outcomes.length > 0 || dispatch.inFlight > 0;

  function checkIdle(): void {
    if (whenIdle && !busy()) whenIdle();
  }

  async function drain(deadline: number): Promise<void> {
    while (busy() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        whenIdle = resolve;
        setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))).unref();
        checkIdle();
      });
      whenIdle = null;
      if (slots.outcomes.length > 0 && dispatch.inFlight === 0) await dispatch.roundTrip();
    }
  }

  /** Releases the steps waiting for a slot (none started): other workers can take them now. */
  async function releaseWaiting(): Promise<void> {
    const waiting = deps.emptyLine();
    if (waiting.length === 0) return;
    try {
      const released = await releaseSteps(deps.sql, slots.id, waiting, 'worker stopping');
      log.info({ released }, 'released steps waiting for a slot at shutdown');
    } catch (error) {
      log.warn(
        { err: error },
        'could not release the waiting steps; they will be taken back after the lease',
      );
    }
  }

  async function stop(options: { timeoutMs?: number } = {}): Promise<void> {
    deps.stopWakeUps();
    await releaseWaiting();
    await drain(Date.now() + (options.timeoutMs ?? deps.shutdownTimeoutMs));
    // A reply that was out when stopping began may have brought more.
    await releaseWaiting();
    const left = [...slots.running.values()];
    for (const execution of left) {
      execution.abandoned = true;
      execution.controller.abort(new StepAbortedError('worker_stopping', 'the worker is stopping'));
    }
    // Record what finished in time (a few tries: the database may be briefly unreachable).
    for (let i = 0; i < 5 && (slots.outcomes.length > 0 || dispatch.inFlight > 0); i++) {
      if (dispatch.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
      else await dispatch.roundTrip();
    }
    deps.stopLeaseKeeper();
    try {
      if (left.length > 0) {
        const released = await releaseSteps(
          deps.sql,
          slots.id,
          left.map((e) => e.stepId),
          'worker stopping',
        );
        log.info({ released }, 'released steps still running at shutdown');
      }
      await stopWorker(deps.sql, slots.id, 'stopped');
    } catch (error) {
      log.warn(
        { err: error },
        'could not record the worker stop; its steps will be taken back after the lease',
      );
    }
    slots.state = 'stopped';
    deps.onStopped();
  }

  return {
    stop(options) {
      if (!stopping) {
        slots.state = 'stopping';
        stopping = stop(options);
      }
      return stopping;
    },
    checkIdle,
  };
}
