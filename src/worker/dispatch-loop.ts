/**
 * The worker's dispatch loop: the round trips that record outcomes and claim steps.
 *
 * One round trip is `finish_steps` with every outcome collected since the last one, asking for as many new
 * steps as there are free slots and room in the waiting line (the children those outcomes make ready come
 * back first, in the same reply; the queue is left alone while nothing may be ready there: from a claim
 * that came back short until the next wake-up, where no concurrency keys are in use), or `claim_steps`
 * when there is nothing to record. At low load an outcome goes out at once; under load outcomes and claims
 * batch up by themselves. A second round trip may go out while one is out, to report outcomes without
 * waiting for it (its claims are counted in `reserved`, so the two never claim more than there is room
 * for); on PGlite there is one connection, so one at a time. A worker with prefetch that keeps finding the
 * queue deeper than its room splits a burst of outcomes into two such round trips (DEEP_AFTER_FULL_CLAIMS).
 *
 * A failed round trip keeps its outcomes (a late one is fenced by its lease, so sending it again is always
 * safe) and is retried with backoff; the poll neither claims nor looks up meanwhile.
 */

import { isTransientDatabaseError } from '../db/sql-errors.js';
import type { TaskTemplate } from '../definitions/types.js';
import type { ClaimLoan } from '../engine/create-tasks.js';
import { claimSteps, type DispatchRow, finishSteps } from '../engine/sql/dispatch-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import { emitOutcomeEvents, emitTaskFinished } from './outcome-events.js';
import { claimRoom, type PendingOutcome, type WorkerSlots } from './worker-slots.js';

export interface DispatchLoopDeps {
  readonly sql: SqlContext;
  readonly slots: WorkerSlots;
  /** The stored ids of the templates served. */
  readonly namedTaskIds: readonly number[];
  readonly templates: ReadonlyMap<number, TaskTemplate>;
  readonly maxBatchSize: number;
  readonly log: Logger;
  readonly events: EventBus;
  /** Starts the claimed steps, or queues them for a slot (prefetch). */
  readonly admit: (rows: readonly DispatchRow[]) => void;
  /** Queues steps claimed by a loan (see lend), to start on the next turn. */
  readonly enqueue: (rows: readonly DispatchRow[]) => void;
  /** A retry this worker learnt of: wake at its time. */
  readonly wakeAt: (at: number) => void;
  /** Looks up the next run time of anyone's step (and wakes then). */
  readonly lookUpNextRun: () => Promise<void>;
  /** A round trip came back (the worker may have become idle). */
  readonly onRoundTrip: () => void;
}

export interface DispatchLoop {
  /** Queues an outcome and sends it soon. */
  record(pending: PendingOutcome): void;
  /** Something may be claimable: claim at the next round trip. */
  requestClaim(): void;
  /** Sends a round trip after the current burst of completions, if one may go out. */
  kick(): void;
  /** Sends a round trip now, if one may go out (shutdown uses it to flush outcomes). */
  roundTrip(): Promise<void>;
  /** The slow poll's turn: claim, and look up the next run time when idle. */
  poll(): void;
  /**
   * Lends this worker's free room to a round trip made elsewhere in the process (createTask claiming for
   * this worker, migration 40): reserved, and counted as a round trip out, until it settles. All of it, as
   * its own claims ask: a claim that comes back short then tells it that nothing else is ready. Null when
   * the worker has no room, is stopping or is backing off.
   */
  lend(): ClaimLoan | null;
  /** Round trips out now (lent ones included). */
  readonly inFlight: number;
}

/**
 * Full claims in a row after which a worker with prefetch sends a burst of outcomes in two round trips side
 * by side. Draining a deep queue, every claimed step of a quick handler ends in the same turn, so the
 * round trips would otherwise go one at a time, the process idle while PostgreSQL records and claims and
 * PostgreSQL idle while the process runs the steps; two halves keep both busy (the drain 6 % faster on
 * average on a 2-core machine, up to 15 %: docs/benchmarks.md). Each half stays a half: the next round
 * trip goes out when one comes back, while the other is out. Not without prefetch: chains created while
 * they run (their claims come back full with the children started in line) gained nothing and paid half
 * as many round trips again; and not while claims come back short (tasks created while they run), where
 * more round trips only cost.
 */
const DEEP_AFTER_FULL_CLAIMS = 3;
/** The fewest outcomes (and claims) a round trip of such a pair carries. */
const MIN_LANE = 8;

export function createDispatchLoop(deps: DispatchLoopDeps): DispatchLoop {
  const { sql, slots, log } = deps;
  let inFlight = 0;
  let reserved = 0;
  /** Loans out (see lend). */
  let lent = 0;
  const maxInFlight = sql.db.kind === 'pglite' ? 1 : 2;
  const canSend = (): boolean => inFlight === 0 || (inFlight < maxInFlight && slots.outcomes.length > 0);
  let kickScheduled = false;
  /** Something may be claimable (set by wake-ups, cleared when a claim comes back short). */
  let wantClaim = true;
  /** Counts wake-ups, so a wake-up that arrives during a round trip is not forgotten when it returns. */
  let wakeUps = 0;
  let failureDelay = 0;
  /** Claims in a row that came back with all they asked for: the queue is deeper than this worker's room. */
  let fullClaims = 0;
  /** Until then the database is given time to come back: the poll neither claims nor looks up. */
  let backingOffUntil = 0;

  // A step that held a concurrency key releases it in the round trip that records its outcome, and the
  // steps parked on the key become ready in that transaction: where keys are in use, that round trip
  // always claims from the queue too (a notification would bring them a round trip later). The served
  // templates are fixed when the worker starts.
  const keysInUse = [...deps.templates.values()].some(
    (t) => t.concurrency !== null || t.steps.some((step) => step.concurrency !== null),
  );

  function requestClaim(): void {
    wantClaim = true;
    wakeUps++;
  }

  function kick(): void {
    if (kickScheduled || !canSend() || slots.state === 'stopped') return;
    kickScheduled = true;
    // After the current burst of handler completions, so they share one round trip.
    setImmediate(() => {
      kickScheduled = false;
      void roundTrip();
    });
  }

  async function roundTrip(): Promise<void> {
    if (!canSend() || slots.state === 'stopped') return;
    const free = Math.max(0, claimRoom(slots) - reserved);
    let claimLimit = wantClaim || slots.outcomes.length > 0 ? free : 0;
    const wakeUpsBefore = wakeUps;
    if (slots.outcomes.length === 0 && claimLimit === 0) return;
    // A worker with prefetch whose claims keep coming back full, with a burst of outcomes and nothing out:
    // two round trips side by side, each with half (see DEEP_AFTER_FULL_CLAIMS).
    const split =
      slots.prefetch > 0 &&
      fullClaims >= DEEP_AFTER_FULL_CLAIMS &&
      inFlight === 0 &&
      maxInFlight > 1 &&
      slots.outcomes.length >= 2 * MIN_LANE &&
      claimLimit >= 2 * MIN_LANE;
    const take = split ? Math.ceil(slots.outcomes.length / 2) : deps.maxBatchSize;
    if (split) claimLimit = Math.ceil(claimLimit / 2);
    const batch = slots.outcomes.splice(0, Math.min(take, deps.maxBatchSize));
    inFlight++;
    reserved += claimLimit;
    if (split) void roundTrip();
    let rows: DispatchRow[];
    try {
      rows =
        batch.length > 0
          ? await finishSteps(
              sql,
              slots.id,
              batch.map((p) => p.outcome),
              claimLimit,
              deps.namedTaskIds,
              // The queue only when something may be ready there; the outcomes' children come back anyway.
              wantClaim || keysInUse,
            )
          : await claimSteps(sql, slots.id, deps.namedTaskIds, claimLimit);
      if (failureDelay > 0) {
        // The failed attempt may have committed with its reply lost: a retry it scheduled is then
        // unknown here, so look up the next run time now rather than at the next poll.
        void deps.lookUpNextRun();
      }
      failureDelay = 0;
      backingOffUntil = 0;
    } catch (error) {
      slots.outcomes.unshift(...batch);
      failureDelay = Math.min(Math.max(100, failureDelay * 2), 5000);
      (isTransientDatabaseError(error) ? log.warn : log.error).call(
        log,
        { err: error, retryInMs: failureDelay },
        'worker round trip failed; retrying',
      );
      inFlight--;
      reserved -= claimLimit;
      backingOffUntil = Date.now() + failureDelay;
      setTimeout(kick, failureDelay).unref();
      return;
    }
    inFlight--;
    reserved -= claimLimit;
    const claimed: DispatchRow[] = [];
    const refused = new Set<number>();
    const retries = new Map<number, Date | null>();
    for (const row of rows) {
      if (row.kind === 'claimed' || row.kind === 'queued') {
        claimed.push(row);
      } else if (row.kind === 'retry') {
        retries.set(row.step_id!, row.run_at);
        if (row.run_at) deps.wakeAt(row.run_at.getTime());
      } else if (row.kind === 'refused') {
        refused.add(row.step_id!);
      } else if (row.kind === 'task') {
        emitTaskFinished(deps.events, deps.templates, row);
      }
    }
    deps.admit(claimed);
    emitOutcomeEvents(deps.events, log, slots.id, batch, refused, retries);
    // A short claim means nothing more is ready, unless a wake-up came in while the claim was running.
    if (claimLimit > 0) {
      const full = claimed.length >= claimLimit;
      if (wakeUps === wakeUpsBefore) wantClaim = full;
      fullClaims = full ? fullClaims + 1 : 0;
    }
    if (slots.outcomes.length > 0 || (wantClaim && claimRoom(slots) > 0)) {
      kick();
    }
    deps.onRoundTrip();
  }

  function lend(): ClaimLoan | null {
    // Not while steps wait in its line (a backlog), nor beside another loan: the creator lends only when
    // it writes alone, and under load the worker's own round trips claim many tasks' steps at a time.
    if (slots.waiting.size > 0 || lent > 0) return null;
    const limit = claimRoom(slots) - reserved;
    if (limit <= 0 || slots.state !== 'running' || Date.now() < backingOffUntil) return null;
    reserved += limit;
    lent++;
    const wakeUpsBefore = wakeUps;
    let settled = false;
    return {
      workerId: slots.id,
      limit,
      namedTaskIds: deps.namedTaskIds,
      settle(rows) {
        if (settled) return;
        settled = true;
        reserved -= limit;
        lent--;
        if (rows) {
          const claimed = rows.filter((row) => row.kind === 'claimed' || row.kind === 'queued');
          // In line now, where a cancellation notice finds them; started after the creator's callers
          // have their tasks (a step's events come after its task's).
          deps.enqueue(claimed);
          // As for the worker's own claims: a short one means nothing more is ready, unless a wake-up came.
          if (claimed.length < limit && wakeUps === wakeUpsBefore) wantClaim = false;
        }
        if (slots.outcomes.length > 0 || (wantClaim && claimRoom(slots) > 0)) kick();
        deps.onRoundTrip();
      },
    };
  }

  return {
    lend,
    record(pending) {
      slots.outcomes.push(pending);
      kick();
    },
    requestClaim,
    kick,
    roundTrip,
    poll() {
      requestClaim();
      // While the database is failing, the backoff's own timer sends the next round trip.
      if (Date.now() < backingOffUntil) return;
      kick();
      if (slots.state !== 'running' || inFlight > 0) return;
      void deps.lookUpNextRun();
    },
    get inFlight() {
      return inFlight + lent;
    },
  };
}
