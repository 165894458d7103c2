/**
 * A worker claims ready steps, runs their handlers (at most `concurrency` at once) and records outcomes.
 *
 * States: running -> stopping -> stopped.
 * - running: claims and runs steps.
 * - stopping: claims nothing; waits up to shutdownTimeoutMs for running steps, records their outcomes,
 *   aborts and releases (without charging an attempt) whatever is still running, then stops.
 *
 * The database sees one round trip at a time from a worker: `finish_steps` with every outcome collected
 * since the last one, asking for as many new steps as there are free slots (the children those outcomes
 * make ready come back first, in the same reply), or `claim_steps` when there is nothing to record. At
 * low load an outcome goes out at once; under load outcomes and claims batch up by themselves.
 *
 * Wake-ups: NOTIFY when steps become ready elsewhere, a timer at the retry times this worker learns of,
 * and a slow poll as fallback (which also finds the next retry time of anyone's step).
 * Leases: one heartbeat per interval renews all of this worker's steps, and reports the ones to abort
 * (task cancelled, or taken back after a missed heartbeat); each heartbeat also takes back the steps of
 * workers that stopped heartbeating, and releases steps leased to this worker that it never heard of (a
 * claim whose reply was lost when the connection dropped).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isTransientDatabaseError, isUnregisteredWorker } from '../db/sql-errors.js';
import type { StepContextExtras, StepHandler, TaskTemplate, TemplateStep } from '../definitions/types.js';
import type { BackoffPolicy } from '../engine/backoff.js';
import type { ChildTasks } from '../engine/child-tasks.js';
import type { NotificationHub } from '../engine/notifications.js';
import {
  claimSteps,
  type DispatchRow,
  finishSteps,
  nextRunAt,
  type StepOutcome,
  saveCheckpoint,
} from '../engine/sql/dispatch-queries.js';
import { reportRateLimited } from '../engine/sql/rate-limit-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import {
  heartbeat,
  reapLostSteps,
  registerWorker,
  releaseSteps,
  releaseUnknownSteps,
  stopWorker,
} from '../engine/sql/worker-queries.js';
import { StepAbortedError, TaskerError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../model/logger.js';
import type { StepRunInfo } from '../model/step-run.js';
import { batchOf, setUpRow, workersKey } from './batch-steps.js';
import { runStep } from './run-step.js';

export interface WorkerOptions {
  /** Steps run at once. @defaultValue execution.concurrency (10) */
  readonly concurrency?: number;
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
  readonly state: 'running' | 'stopping' | 'stopped';
  /** Stops gracefully; resolves when stopped. Safe to call more than once. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

export type { StepRunInfo };

/** Seams for telemetry: everything is optional. */
export interface WorkerInstrumentation {
  /** Wraps each handler call, e.g. in a tracing span or a logging context. */
  runStep?<T>(info: StepRunInfo, run: () => Promise<T>): Promise<T>;
  /** The step context's logger and custom-event publisher for one attempt. */
  stepContext?(info: StepRunInfo, step: TemplateStep): StepContextExtras;
}

/** What the worker reads of the resolved configuration (config/ sits above the worker; ResolvedConfig fits). */
export interface WorkerConfig {
  readonly execution: {
    readonly concurrency: number;
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
  readonly onStopped?: (worker: Worker) => void;
}

/** An outcome waiting to be recorded, with what events about it need. */
interface PendingOutcome {
  readonly outcome: StepOutcome;
  readonly info: StepRunInfo;
  readonly durationMs: number;
}

interface Execution {
  readonly stepId: number;
  readonly taskId: number;
  readonly attempt: number;
  readonly controller: AbortController;
  /** Its outcome must not be recorded (lease lost, or released at shutdown). */
  abandoned: boolean;
}

export async function startWorker(deps: WorkerDeps, options: WorkerOptions = {}): Promise<Worker> {
  const { sql, config, events } = deps;
  const id = randomUUID();
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const concurrency = options.concurrency ?? config.execution.concurrency;
  const { pollIntervalMs, heartbeatIntervalMs, maxBatchSize } = config.execution;
  const log = deps.logger.child?.({ worker: name, workerId: id }) ?? deps.logger;
  const namedTaskIds = [...deps.templates.keys()];
  const handlers = new Map<
    string,
    { template: TaskTemplate; step: TemplateStep; handler: StepHandler<never>; worker: boolean }
  >();
  for (const [templateId, template] of deps.templates) {
    for (const step of template.steps) {
      handlers.set(`${templateId}/${step.name}`, {
        template,
        step,
        handler: deps.resolveHandler(template, step),
        worker: false,
      });
      if (step.batch) {
        handlers.set(`${templateId}/${workersKey(step.name)}`, {
          template,
          step,
          handler: deps.resolveHandler(template, { ...step, handler: step.batch.handler }),
          worker: true,
        });
      }
    }
  }

  let state: Worker['state'] = 'running';
  const running = new Map<number, Execution>();
  const outcomes: PendingOutcome[] = [];
  /**
   * Round trips out now. A second may go out while one is out, to report outcomes without waiting for it
   * (its claims are counted in `reserved` so the two never claim more than the free slots); on PGlite
   * there is one connection, so one at a time.
   */
  let inFlight = 0;
  let reserved = 0;
  const maxInFlight = sql.db.kind === 'pglite' ? 1 : 2;
  const canSend = (): boolean => inFlight === 0 || (inFlight < maxInFlight && outcomes.length > 0);
  let kickScheduled = false;
  /** Something may be claimable (set by wake-ups, cleared when a claim comes back short). */
  let wantClaim = true;
  /** Counts wake-ups, so a wake-up that arrives during a round trip is not forgotten when it returns. */
  let wakeUps = 0;
  const requestClaim = (): void => {
    wantClaim = true;
    wakeUps++;
  };
  let failureDelay = 0;
  /** Until then the database is given time to come back: the poll neither claims nor looks up. */
  let backingOffUntil = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryTimerAt = Number.POSITIVE_INFINITY;
  // Every retry time this worker has been told of and not yet woken for, sorted. One timer runs, for the
  // earliest; when it fires the next one is armed, so a later retry is not left to the fallback poll.
  let wakeTimes: number[] = [];
  let whenIdle: (() => void) | null = null;

  await registerWorker(sql, {
    id,
    name,
    hostname: hostname(),
    pid: process.pid,
    concurrency,
    namespaces: options.namespaces ? [...options.namespaces] : null,
    leaseMs: config.execution.leaseMs,
  });

  // ------------------------------------------------------------------ the round trip
  function kick(): void {
    if (kickScheduled || !canSend() || state === 'stopped') return;
    kickScheduled = true;
    // After the current burst of handler completions, so they share one round trip.
    setImmediate(() => {
      kickScheduled = false;
      void roundTrip();
    });
  }

  async function roundTrip(): Promise<void> {
    if (!canSend() || state === 'stopped') return;
    const free = state === 'running' ? Math.max(0, concurrency - running.size - reserved) : 0;
    const claimLimit = wantClaim || outcomes.length > 0 ? free : 0;
    const wakeUpsBefore = wakeUps;
    if (outcomes.length === 0 && claimLimit === 0) return;
    const batch = outcomes.splice(0, maxBatchSize);
    inFlight++;
    reserved += claimLimit;
    let rows: DispatchRow[];
    try {
      rows =
        batch.length > 0
          ? await finishSteps(
              sql,
              id,
              batch.map((p) => p.outcome),
              claimLimit,
              namedTaskIds,
            )
          : await claimSteps(sql, id, namedTaskIds, claimLimit);
      if (failureDelay > 0) {
        // The failed attempt may have committed with its reply lost: a retry it scheduled is then
        // unknown here, so look up the next run time now rather than at the next poll.
        void lookUpNextRun();
      }
      failureDelay = 0;
      backingOffUntil = 0;
    } catch (error) {
      // Keep the outcomes: a late one is fenced by its lease, so sending it again is always safe.
      outcomes.unshift(...batch);
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
    let claimed = 0;
    const refused = new Set<number>();
    const retries = new Map<number, Date | null>();
    for (const row of rows) {
      if (row.kind === 'claimed') {
        claimed++;
        start(row);
      } else if (row.kind === 'retry') {
        retries.set(row.step_id!, row.run_at);
        if (row.run_at) scheduleWake(row.run_at.getTime());
      } else if (row.kind === 'refused') {
        refused.add(row.step_id!);
      } else if (row.kind === 'task') {
        const template = deps.templates.get(row.named_task_id!);
        events.emit(row.state === 'complete' ? 'task.completed' : 'task.failed', {
          taskId: row.task_id,
          namespace: template?.namespace ?? '',
          name: template?.name ?? '',
          version: template?.version ?? '',
          state: row.state,
          startedAt: row.run_at,
          createdAt: row.task_created_at,
        });
      }
    }
    emitOutcomeEvents(batch, refused, retries);
    // A short claim means nothing more is ready, unless a wake-up came in while the claim was running.
    if (claimLimit > 0 && wakeUps === wakeUpsBefore) wantClaim = claimed >= claimLimit;
    if (outcomes.length > 0 || (wantClaim && state === 'running' && running.size < concurrency)) kick();
    checkIdle();
  }

  /** Events about outcomes, now that they are committed. */
  function emitOutcomeEvents(
    batch: PendingOutcome[],
    refused: Set<number>,
    retries: Map<number, Date | null>,
  ): void {
    for (const { outcome, info, durationMs } of batch) {
      const base = { ...info, durationMs, workerId: id };
      // Waiting for a child task or a batch is not an outcome: the step runs again when it is done.
      if (outcome.await_child !== undefined || outcome.await_batch !== undefined) {
        if (refused.has(outcome.step_id)) continue;
        events.emit('step.waiting', {
          ...info,
          workerId: id,
          waitingFor: outcome.await_child !== undefined ? 'child' : 'batch',
          childTaskId: typeof outcome.await_child === 'number' ? outcome.await_child : null,
          workers: outcome.await_batch?.items.length ?? null,
        });
        continue;
      }
      if (refused.has(outcome.step_id)) {
        log.warn({ stepId: outcome.step_id }, 'outcome refused: the step is no longer leased to this worker');
        events.emit('step.outcome_refused', base);
      } else if (outcome.ok) {
        events.emit('step.completed', base);
        if (outcome.skip_children) events.emit('step.decided', { ...base, skipped: outcome.skip_children });
      } else {
        const willRetry = retries.has(outcome.step_id);
        events.emit('step.failed', {
          ...base,
          error: outcome.error,
          permanent: outcome.permanent ?? false,
          willRetry,
          retryAt: retries.get(outcome.step_id) ?? null,
        });
      }
    }
  }

  function scheduleWake(at: number): void {
    if (state !== 'running') return;
    // Binary insertion keeps the list sorted without re-sorting it per retry.
    let lo = 0;
    let hi = wakeTimes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (wakeTimes[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    if (wakeTimes[lo] !== at) wakeTimes.splice(lo, 0, at);
    armWakeTimer();
  }

  function armWakeTimer(): void {
    const next = wakeTimes[0];
    if (next === undefined || next >= retryTimerAt || state !== 'running') return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimerAt = next;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        retryTimerAt = Number.POSITIVE_INFINITY;
        const now = Date.now();
        const due = wakeTimes.findIndex((t) => t > now);
        wakeTimes = due < 0 ? [] : wakeTimes.slice(due);
        requestClaim();
        kick();
        armWakeTimer();
      },
      Math.max(0, next - Date.now()),
    );
    retryTimer.unref();
  }

  // ------------------------------------------------------------------ running steps
  function start(row: DispatchRow): void {
    const stepId = row.step_id!;
    const previous = running.get(stepId);
    if (previous) {
      // Claimed again while an old attempt still runs here (it was taken back): that one is void.
      previous.abandoned = true;
      previous.controller.abort(new StepAbortedError('lease_lost', 'the step was claimed again'));
    }
    const execution: Execution = {
      stepId,
      taskId: row.task_id!,
      attempt: row.attempt!,
      controller: new AbortController(),
      abandoned: false,
    };
    running.set(stepId, execution);
    const batch = batchOf(row.step_name!);
    const entry =
      handlers.get(`${row.named_task_id}/${row.step_name}`) ??
      (batch === null ? undefined : handlers.get(`${row.named_task_id}/${workersKey(batch)}`));
    const attempt = row.attempt! - row.attempts_base!;
    const startedAt = performance.now();
    const info: StepRunInfo = {
      taskId: row.task_id!,
      stepId,
      stepName: row.step_name!,
      namespace: entry?.template.namespace ?? '',
      name: entry?.template.name ?? '',
      version: entry?.template.version ?? '',
      attempt,
      correlationId: row.correlation_id,
      traceparent: row.traceparent,
    };
    events.emit('step.execution_requested', {
      ...info,
      workerId: id,
      readyAt: row.run_at,
      taskCreatedAt: row.task_created_at,
    });

    const done = (outcome: StepOutcome | null) => {
      if (running.get(stepId) === execution) running.delete(stepId);
      const limits = entry?.step.rateLimits ?? [];
      if (outcome?.rate_limited && limits.length > 0) {
        // Its own statement, outside the round trip: a bucket row is never held while other locks wait.
        reportRateLimited(
          sql,
          limits.map((l) => l.name),
          outcome.rate_limited.retry_after_ms,
        ).catch((error) => log.warn({ err: error, stepId }, 'reporting a 429 to the rate limits failed'));
      }
      if (outcome && !execution.abandoned) {
        outcomes.push({ outcome, info, durationMs: performance.now() - startedAt });
      }
      kick();
      checkIdle();
    };

    if (!entry) {
      done({
        step_id: stepId,
        attempt: row.attempt!,
        ok: false,
        permanent: true,
        error: {
          class: 'HandlerNotFoundError',
          message: `this worker has no handler for step "${row.step_name}" of template ${row.named_task_id}`,
        },
      });
      return;
    }
    const { template, step } = entry;
    const setup = setUpRow(step, entry.handler, entry.worker, row.inputs);
    let childCalls = 0;
    const run = () =>
      runStep({
        stepId,
        leaseAttempt: row.attempt!,
        attempt,
        handler: setup.handler,
        timeoutMs: row.timeout_ms,
        controller: execution.controller,
        backoff: config.backoff,
        ...(step.kind === 'decision'
          ? { decisionChildren: step.childPositions.map((p) => template.steps[p]!.name) }
          : {}),
        ...(step.batch && !entry.worker && setup.handler === entry.handler ? { batch: step.batch } : {}),
        context: {
          task: {
            id: row.task_id!,
            namespace: template.namespace,
            name: template.name,
            version: template.version,
            correlationId: row.correlation_id,
          },
          step: { id: stepId, name: row.step_name!, attempt, retryLimit: row.retry_limit! },
          context: row.context ?? {},
          inputs: setup.inputs,
          lastCheckpoint: setup.lastCheckpoint,
          checkpoint: async (value) => {
            if (!entry.worker) {
              throw new TaskerError(
                'TASKER_OPERATION_NOT_ALLOWED',
                'checkpoint() is for the worker steps of a batch',
              );
            }
            const json = JSON.stringify(value === undefined ? null : value);
            if (!(await saveCheckpoint(sql, stepId, row.attempt!, json))) {
              log.warn({ stepId }, 'checkpoint not saved: the step is no longer leased to this worker');
            }
          },
          parents: row.parent_results ?? {},
          config: step.config,
          attempt,
          ...(deps.instrumentation?.stepContext?.(info, step) ?? { log, publish: unavailablePublish }),
          startChild: (request) =>
            deps.children.start(
              {
                taskId: row.task_id!,
                stepId,
                call: childCalls++,
                taskCreatedAt: row.task_created_at,
                inputs: row.inputs,
              },
              request,
            ),
        },
      });
    const wrap = deps.instrumentation?.runStep;
    (wrap ? wrap(info, run) : run()).then(done, (error) => {
      log.error({ err: error, stepId }, 'step runner failed');
      done(null);
    });
  }

  function checkIdle(): void {
    if (whenIdle && running.size === 0 && outcomes.length === 0 && inFlight === 0) whenIdle();
  }

  // ------------------------------------------------------------------ wake-ups and leases
  const unsubscribes: Array<() => void> = [];
  unsubscribes.push(
    await deps.notifications.subscribe(sql.channels.ready, (payload) => {
      // Empty: something is ready now. A number: the earliest time (epoch ms) of delayed tasks just
      // created (migration 13); wake then.
      const at = payload ? Number(payload) : Number.NaN;
      if (Number.isFinite(at) && at > Date.now()) {
        scheduleWake(at);
        return;
      }
      requestClaim();
      kick();
    }),
    await deps.notifications.subscribe(sql.channels.cancel, (payload) => {
      const taskId = Number(payload);
      for (const execution of running.values()) {
        if (execution.taskId === taskId) {
          execution.controller.abort(new StepAbortedError('task_cancelled', `task ${taskId} was cancelled`));
        }
      }
    }),
    deps.notifications.onReconnect(() => {
      requestClaim();
      kick();
    }),
  );

  /** Retries scheduled by other workers (or reaped steps, or in a lost reply): wake at their time. */
  async function lookUpNextRun(): Promise<void> {
    try {
      const at = await nextRunAt(sql, namedTaskIds);
      if (at && at.getTime() > Date.now()) scheduleWake(at.getTime());
    } catch (error) {
      log.warn({ err: error }, 'next run time lookup failed');
    }
  }

  const pollTimer = setInterval(async () => {
    requestClaim();
    // While the database is failing, the backoff's own timer sends the next round trip.
    if (Date.now() < backingOffUntil) return;
    kick();
    if (state !== 'running' || inFlight > 0) return;
    await lookUpNextRun();
  }, pollIntervalMs);
  pollTimer.unref();

  let beating = false;
  const heartbeatTimer = setInterval(async () => {
    if (beating || state === 'stopped') return;
    beating = true;
    try {
      const toAbort = await heartbeat(sql, id, [...running.keys()]);
      for (const { step_id: stepId, reason } of toAbort) {
        const execution = running.get(stepId);
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
        events.emit('worker.steps_reclaimed', { workerId: id, count: reaped });
      }
      // Claims whose reply was lost with a dropped connection: leased to us, unknown to us. Skipped while
      // a round trip is out (its claims are not known yet); the lease-long age covers any reply in transit.
      if (inFlight === 0 && state === 'running') {
        const known = [...running.keys(), ...outcomes.map((p) => p.outcome.step_id)];
        const orphans = await releaseUnknownSteps(sql, id, known, config.execution.leaseMs);
        if (orphans > 0) log.warn({ released: orphans }, 'released steps whose claim reply was lost');
      }
    } catch (error) {
      if (isUnregisteredWorker(error)) {
        await registerWorker(sql, {
          id,
          name,
          hostname: hostname(),
          pid: process.pid,
          concurrency,
          namespaces: options.namespaces ? [...options.namespaces] : null,
          leaseMs: config.execution.leaseMs,
        }).catch(() => {});
      } else {
        log.warn({ err: error }, 'heartbeat failed');
      }
    } finally {
      beating = false;
    }
  }, heartbeatIntervalMs);
  // Not unref'd: a running worker keeps its process alive. Otherwise, at a moment when every database
  // connection has just been lost (the pool's and the LISTEN one) and every other timer is unref'd, the
  // process had nothing left to wait on and exited quietly with code 0. Cleared when the worker stops.

  // ------------------------------------------------------------------ stopping
  let stopping: Promise<void> | null = null;

  async function drain(deadline: number): Promise<void> {
    while ((running.size > 0 || outcomes.length > 0 || inFlight > 0) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        whenIdle = resolve;
        setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))).unref();
        checkIdle();
      });
      whenIdle = null;
      if (outcomes.length > 0 && inFlight === 0) await roundTrip();
    }
  }

  async function stop(stopOptions: { timeoutMs?: number } = {}): Promise<void> {
    if (stopping) return stopping;
    state = 'stopping';
    stopping = (async () => {
      clearInterval(pollTimer);
      if (retryTimer) clearTimeout(retryTimer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      const timeoutMs = stopOptions.timeoutMs ?? config.execution.shutdownTimeoutMs;
      await drain(Date.now() + timeoutMs);
      const left = [...running.values()];
      for (const execution of left) {
        execution.abandoned = true;
        execution.controller.abort(new StepAbortedError('worker_stopping', 'the worker is stopping'));
      }
      // Record what finished in time (a few tries: the database may be briefly unreachable).
      for (let i = 0; i < 5 && (outcomes.length > 0 || inFlight > 0); i++) {
        if (inFlight > 0) await new Promise((r) => setTimeout(r, 50));
        else await roundTrip();
      }
      clearInterval(heartbeatTimer);
      try {
        if (left.length > 0) {
          const released = await releaseSteps(
            sql,
            id,
            left.map((e) => e.stepId),
            'worker stopping',
          );
          log.info({ released }, 'released steps still running at shutdown');
        }
        await stopWorker(sql, id, 'stopped');
      } catch (error) {
        log.warn(
          { err: error },
          'could not record the worker stop; its steps will be taken back after the lease',
        );
      }
      state = 'stopped';
      removeSignalHandlers();
      deps.onStopped?.(worker);
    })();
    return stopping;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping worker');
    void stop();
  };
  const removeSignalHandlers = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  const worker: Worker = {
    id,
    name,
    get running() {
      return running.size;
    },
    get state() {
      return state;
    },
    stop,
  };
  log.info({ concurrency, templates: namedTaskIds.length }, 'worker started');
  kick();
  return worker;
}

/** Without telemetry instrumentation there is no custom-event delivery. */
function unavailablePublish(name: string): never {
  throw new Error(`cannot publish "${name}": this worker was started without the Tasker's instrumentation`);
}
