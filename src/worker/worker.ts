/**
 * A worker claims ready steps, runs their handlers (at most `concurrency` at once) and records outcomes.
 * `startWorker` is its composition root: it wires the parts, each in its own module.
 *
 * ```
 *             wake-ups ──────► dispatch loop ◄────────── start step
 *   (NOTIFY, retry timers,   (finish_steps / claim_steps:   (handler + context via run-step;
 *    reconnects, the poll)    record outcomes, claim)        its outcome goes back to the loop)
 *                                   │  claimed rows ─────────────►
 *   lease keeper (heartbeat, reaping, releasing orphans)      shutdown (drain, abort, release)
 * ```
 *
 * - worker-slots.ts: the shared state (`running` → `stopping` → `stopped`, written down there), the running
 *   attempts and the outcomes waiting to be recorded;
 * - handler-table.ts: each step's handler, resolved once;
 * - dispatch-loop.ts: the round trips (at most two out; one on PGlite), batching, backoff;
 * - admit-steps.ts: a claimed row starts in a free slot or waits in line for one (prefetch);
 * - start-step.ts: a claimed row becomes a running attempt; run-step.ts runs it;
 * - outcome-events.ts: the events of a committed round trip;
 * - wake-ups.ts: when to look for work; lease-keeper.ts: heartbeats; shutdown.ts: stopping.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StepHandler, TaskTemplate, TemplateStep } from '../definitions/types.js';
import type { BackoffPolicy } from '../engine/backoff.js';
import type { ChildTasks } from '../engine/child-tasks.js';
import type { ClaimLoan } from '../engine/create-tasks.js';
import type { NotificationHub } from '../engine/notifications.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { registerWorker } from '../engine/sql/worker-queries.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import type { StepRunInfo } from '../model/step-run.js';
import { createAdmission } from './admit-steps.js';
import { createDispatchLoop } from './dispatch-loop.js';
import { buildHandlerTable } from './handler-table.js';
import { registrationOf, startLeaseKeeper } from './lease-keeper.js';
import { createShutdown } from './shutdown.js';
import { createStepStarter, type WorkerInstrumentation } from './start-step.js';
import { createWakeUps } from './wake-ups.js';
import { createWorkerSlots, type WorkerState } from './worker-slots.js';

export interface WorkerOptions {
  /** Steps run at once. @defaultValue execution.concurrency (10) */
  readonly concurrency?: number;
  /** Steps claimed beyond `concurrency`, started as slots free. @defaultValue execution.prefetch (0) */
  readonly prefetch?: number;
  /** Serve only these namespaces. @defaultValue every registered namespace */
  readonly namespaces?: readonly string[];
  /** Shown in the workers table and logs. @defaultValue `${hostname}:${pid}` */
  readonly name?: string;
  /** Stop gracefully on SIGTERM and SIGINT. @defaultValue false */
  readonly handleSignals?: boolean;
}

export interface Worker {
  readonly id: string;
  readonly name: string;
  /** Steps running now. */
  readonly running: number;
  readonly state: WorkerState;
  /** Stops gracefully; resolves when stopped. Safe to call more than once. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/** A worker as the Tasker that started it holds it. */
export interface LocalWorker extends Worker {
  /**
   * Lends its free room to the Tasker's createTask, which then claims for it in the round trip that creates
   * the task (migration 40). Null when it does not serve the template or has no room.
   */
  lendClaim(namedTaskId: number): ClaimLoan | null;
}

export type { StepRunInfo, WorkerInstrumentation };

/** What the worker reads of the resolved configuration (config/ sits above the worker; ResolvedConfig fits). */
export interface WorkerConfig {
  readonly execution: {
    readonly concurrency: number;
    readonly prefetch: number;
    readonly leaseMs: number;
    readonly heartbeatIntervalMs: number;
    readonly pollIntervalMs: number;
    readonly shutdownTimeoutMs: number;
    readonly maxBatchSize: number;
  };
  readonly backoff: BackoffPolicy;
}

export interface WorkerDeps {
  readonly sql: SqlContext;
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly events: EventBus;
  readonly notifications: NotificationHub;
  /** The templates to serve, by stored id. */
  readonly templates: ReadonlyMap<number, TaskTemplate>;
  /** Resolves a step's handler (functions as they are; names through the handler registry). */
  readonly resolveHandler: (template: TaskTemplate, step: TemplateStep) => StepHandler<never>;
  readonly instrumentation?: WorkerInstrumentation;
  /** Starts child tasks for `ctx.startChild` (docs/workflows.md#child-workflows). */
  readonly children: ChildTasks;
  /** Called once the worker has stopped. */
  readonly onStopped?: (worker: LocalWorker) => void;
}

export async function startWorker(deps: WorkerDeps, options: WorkerOptions = {}): Promise<LocalWorker> {
  const { sql, config, events } = deps;
  const { execution } = config;
  const slots = createWorkerSlots(
    randomUUID(),
    options.concurrency ?? execution.concurrency,
    options.prefetch ?? execution.prefetch,
  );
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = deps.logger.child?.({ worker: name, workerId: slots.id }) ?? deps.logger;
  const namedTaskIds = [...deps.templates.keys()];
  const handlers = buildHandlerTable(deps.templates, deps.resolveHandler);
  const registration = registrationOf(slots, name, options.namespaces, execution.leaseMs);
  await registerWorker(sql, registration);

  const wakeUps = createWakeUps({
    sql,
    slots,
    namedTaskIds,
    notifications: deps.notifications,
    pollIntervalMs: execution.pollIntervalMs,
    log,
    onWake: () => {
      dispatch.requestClaim();
      dispatch.kick();
    },
    onPoll: () => dispatch.poll(),
  });
  const start = createStepStarter({
    sql,
    slots,
    handlers,
    backoff: config.backoff,
    log,
    events,
    children: deps.children,
    ...(deps.instrumentation ? { instrumentation: deps.instrumentation } : {}),
    onSettled: (pending) => {
      if (pending) dispatch.record(pending);
      else dispatch.kick();
      admission.fill();
      shutdown.checkIdle();
    },
  });
  const admission = createAdmission(slots, start);
  const dispatch = createDispatchLoop({
    sql,
    slots,
    namedTaskIds,
    templates: deps.templates,
    maxBatchSize: execution.maxBatchSize,
    log,
    events,
    admit: admission.admit,
    enqueue: admission.enqueue,
    wakeAt: wakeUps.wakeAt,
    lookUpNextRun: wakeUps.lookUpNextRun,
    onRoundTrip: () => shutdown.checkIdle(),
  });
  const shutdown = createShutdown({
    sql,
    slots,
    dispatch,
    shutdownTimeoutMs: execution.shutdownTimeoutMs,
    log,
    stopWakeUps: wakeUps.stop,
    emptyLine: () => admission.empty(),
    stopLeaseKeeper: () => stopLeaseKeeper(),
    onStopped: () => {
      removeSignalHandlers();
      deps.onStopped?.(worker);
    },
  });

  await wakeUps.start();
  // Started last: a failed subscription leaves no timer keeping the process alive.
  const stopLeaseKeeper = startLeaseKeeper({
    sql,
    slots,
    registration,
    heartbeatIntervalMs: execution.heartbeatIntervalMs,
    log,
    events,
    roundTripsOut: () => dispatch.inFlight,
  });

  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping worker');
    void worker.stop();
  };
  const removeSignalHandlers = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  const worker: LocalWorker = {
    id: slots.id,
    name,
    get running() {
      return slots.running.size;
    },
    get state() {
      return slots.state;
    },
    stop: (stopOptions) => shutdown.stop(stopOptions),
    lendClaim: (namedTaskId) => (deps.templates.has(namedTaskId) ? dispatch.lend() : null),
  };
  log.info({ concurrency: slots.concurrency, templates: namedTaskIds.length }, 'worker started');
  dispatch.kick();
  return worker;
}
