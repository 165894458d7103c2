/**
 * Keeping the worker's leases: one heartbeat per interval renews every step it runs or holds waiting for a
 * slot, and reports the ones to abort (task cancelled, or taken back after a missed heartbeat). Each
 * heartbeat also takes back the steps of workers that stopped heartbeating, and releases steps leased to
 * this worker that it never heard of (a claim whose reply was lost when the connection dropped). A worker
 * the database no longer knows (its row was removed) registers again.
 */
import { hostname } from 'node:os';
import { isUnregisteredWorker } from '../db/sql-errors.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import {
  heartbeat,
  reapLostSteps,
  registerWorker,
  releaseUnknownSteps,
  type WorkerRegistration,
} from '../engine/sql/worker-queries.js';
import { StepAbortedError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import { heldStepIds, type WorkerSlots } from './worker-slots.js';

/** The worker's row in the workers table. */
export function registrationOf(
  slots: WorkerSlots,
  name: string,
  namespaces: readonly string[] | undefined,
  leaseMs: number,
): WorkerRegistration {
  return {
    id: slots.id,
    name,
    hostname: hostname(),
    pid: process.pid,
    concurrency: slots.concurrency,
    namespaces: namespaces ? [...namespaces] : null,
    leaseMs,
  };
}

export interface LeaseKeeperDeps {
  readonly sql: SqlContext;
  readonly slots: WorkerSlots;
  readonly registration: WorkerRegistration;
  readonly heartbeatIntervalMs: number;
  readonly log: Logger;
  readonly events: EventBus;
  /** Round trips out now: their claims are not known yet. */
  readonly roundTripsOut: () => number;
}

/** Starts the heartbeat; returns the function that stops it. */
export function startLeaseKeeper(deps: LeaseKeeperDeps): () => void {
  const { sql, slots, log } = deps;
  let beating = false;
  const timer = setInterval(async () => {
    if (beating || slots.state === 'stopped') return;
    beating = true;
    try {
      const toAbort = await heartbeat(sql, slots.id, heldStepIds(slots));
      for (const { step_id: stepId, reason } of toAbort) {
        const waiting = slots.waiting.get(stepId);
        if (waiting) {
          // Not started: a step taken back is simply dropped; one whose task was cancelled settles without
          // running when its turn comes (its outcome records the cancellation).
          if (reason === 'lease_lost') slots.waiting.delete(stepId);
          else waiting.controller.abort(new StepAbortedError(reason, 'the task was cancelled'));
          continue;
        }
        const execution = slots.running.get(stepId);
        if (!execution) continue;
        if (reason === 'lease_lost') execution.abandoned = true;
        execution.controller.abort(
          new StepAbortedError(
            reason,
            reason === 'lease_lost' ? 'the step was taken back' : 'the task was cancelled',
          ),
        );
      }
      const reaped = await reapLostSteps(sql);
      if (reaped > 0) {
        log.warn({ reaped }, 'took back steps of workers that stopped heartbeating');
        deps.events.emit('worker.steps_reclaimed', { workerId: slots.id, count: reaped });
      }
      // Claims whose reply was lost with a dropped connection: leased to us, unknown to us. Skipped while
      // a round trip is out (its claims are not known yet); the lease-long age covers any reply in transit.
      if (deps.roundTripsOut() === 0 && slots.state === 'running') {
        const known = [...heldStepIds(slots), ...slots.outcomes.map((p) => p.outcome.step_id)];
        const orphans = await releaseUnknownSteps(sql, slots.id, known, deps.registration.leaseMs);
        if (orphans > 0) log.warn({ released: orphans }, 'released steps whose claim reply was lost');
      }
    } catch (error) {
      if (isUnregisteredWorker(error)) {
        await registerWorker(sql, deps.registration).catch(() => {});
      } else {
        log.warn({ err: error }, 'heartbeat failed');
      }
    } finally {
      beating = false;
    }
  }, deps.heartbeatIntervalMs);
  // Not unref'd: a running worker keeps its process alive. Otherwise, at a moment when every database
  // connection has just been lost (the pool's and the LISTEN one) and every other timer is unref'd, the
  // process had nothing left to wait on and exited quietly with code 0. Cleared when the worker stops.
  return () => clearInterval(timer);
}
