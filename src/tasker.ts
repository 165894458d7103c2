/**
 * `createTasker`: the engine instance. It owns a database connection (embedded PGlite by default, or a
 * PostgreSQL pool), the registry of task templates and step handlers, the event bus and the workers it
 * starts. Several instances can live side by side (e.g. one per schema); nothing is global.
 */

import type { DependencyAnalysis, DependencyAnalysisOptions } from './analysis/task-dependencies.js';
import { analyzeTask } from './analysis/task-dependencies.js';
import { type Logger, type ResolvedConfig, resolveConfig, type TaskerOptions } from './config/options.js';
import { openDataDir } from './db/data-dir/open-data-dir.js';
import type { Database } from './db/database.js';
import { parseDatabaseUrl } from './db/database-url.js';
import { migrate } from './db/migrate.js';
import { createPgliteDatabase } from './db/pglite-database.js';
import { createPostgresDatabase } from './db/postgres-database.js';
import { translateDatabaseError } from './db/sql-errors.js';
import { waitForDatabase } from './db/wait-for-database.js';
import { createContextValidator } from './definitions/context-validator.js';
import { defineTask } from './definitions/define-task.js';
import { createTemplateRegistry } from './definitions/registry.js';
import type {
  StepHandler,
  StepHandlerClass,
  TaskDefinition,
  TaskTemplate,
  TemplateStep,
} from './definitions/types.js';
import type { HintRule } from './diagnostics/hints.js';
import {
  type BulkAction,
  type BulkReport,
  type BulkRequest,
  createBulkOperations,
} from './engine/bulk-operations.js';
import { type ChangeFeedHandlers, subscribeStateChanges } from './engine/change-feed.js';
import { createChildTasks } from './engine/child-tasks.js';
import { type CreateTaskRequest, createTaskCreator } from './engine/create-tasks.js';
import { createEditOperations, type EditOperations } from './engine/edit-operations.js';
import {
  createFailureViews,
  type FailedStep,
  type FailureFilterInput,
  type FailureGroup,
} from './engine/failure-view.js';
import { createIntrospection, type Introspection } from './engine/introspection.js';
import { type ListTasksFilter, listTasks, type TaskPage } from './engine/list-tasks.js';
import { createNotificationHub } from './engine/notifications.js';
import { assertId, createOperations, type Operations } from './engine/operations.js';
import { applyRateLimits } from './engine/rate-limits.js';
import { createSchedules, type Schedules } from './engine/schedules.js';
import { type Analytics, createAnalytics } from './engine/sql/analytics-queries.js';
import { defineRateLimit, listRateLimits } from './engine/sql/rate-limit-queries.js';
import { createSqlContext } from './engine/sql/sql-context.js';
import {
  countByState,
  oldestRunningTaskAgeSeconds as oldestRunningTask,
} from './engine/sql/status-queries.js';
import {
  findStep,
  findSteps,
  findStepTransitions,
  findTask,
  findTaskTransitions,
} from './engine/sql/task-queries.js';
import { storeTemplate } from './engine/sql/template-queries.js';
import { createTaskWaiter } from './engine/wait-for-task.js';
import { TaskerError } from './errors.js';
import { validateCustomEvents } from './events/custom-events.js';
import { withOperationEvents } from './events/operation-events.js';
import { createTaskerEventBus, type TaskerEventBus } from './events/tasker-events.js';
import { createHttpHandler, HTTP_HANDLER_NAME } from './handlers/http-handler.js';
import { createWaitHandler } from './handlers/wait-handler.js';
import { WAIT_HANDLER_NAME } from './model/step-kinds.js';
import type {
  CreatedTask,
  Step,
  StepTransition,
  Task,
  TaskTransition,
  TaskWithSteps,
} from './model/types.js';
import { instrumentCreation } from './telemetry/task-creation.js';
import { createTelemetry, type Telemetry } from './telemetry/telemetry.js';
import { asStepHandler } from './templates/handler-class.js';
import { createRetention, type PruneReport, type PruneRequest } from './worker/retention-job.js';
import { createScheduleTicker } from './worker/schedule-ticker.js';
import { startWorker, type Worker, type WorkerInstrumentation, type WorkerOptions } from './worker/worker.js';

/** What a Tasker offers of its schedules (docs/schedules.md); firing them is the workers' (tick). */
export type ScheduleOperations = Omit<Schedules, 'tick' | 'nextDueAt'>;

export interface Tasker extends Operations, EditOperations, Introspection, Analytics, ScheduleOperations {
  readonly config: ResolvedConfig;
  /** Typed events (docs/events.md): `tasker.events.on('step.failed', fn)`, wildcards `'step.*'`, `'*'`. */
  readonly events: TaskerEventBus;
  readonly logger: Logger;
  /** Logs, metrics and traces of this instance (docs/observability.md). */
  readonly telemetry: Telemetry;
  /** This instance's metrics in the Prometheus text format ('' when metrics are off). */
  metrics(): Promise<string>;
  /** Dependency levels, critical path, bottlenecks and parallelism of a task. Throws TASKER_TASK_NOT_FOUND. */
  analyzeTask(taskId: number, options?: DependencyAnalysisOptions): Promise<DependencyAnalysis>;
  /** The database connection (for health checks and tools; Tasker's tables are private). */
  readonly database: Database;

  /**
   * Registers a task template (a definition is checked with defineTask first). Registering the same
   * namespace/name/version twice fails unless `replace` is set.
   */
  register(definition: TaskDefinition<never> | TaskTemplate, options?: { replace?: boolean }): TaskTemplate;
  /**
   * Makes a handler available by name to templates whose steps name it (YAML templates, built-ins): a
   * function, or a class with a `process(context)` method (one instance serves every step).
   */
  registerHandler(
    name: string,
    handler: StepHandler<never> | StepHandlerClass,
    options?: { replace?: boolean },
  ): void;
  /** Registered templates. */
  templates(): TaskTemplate[];
  /** Finds a registered template; the latest version when none is given. Throws TASKER_UNKNOWN_TASK. */
  template(namespace: string, name: string, version?: string): TaskTemplate;

  /**
   * Creates a task (validated). A duplicate request, as the template's identity strategy defines it, gets
   * the existing task (`created: false`), or TASKER_DUPLICATE_TASK under `strict` (docs/api.md).
   */
  createTask(request: CreateTaskRequest): Promise<CreatedTask>;
  /** Creates many tasks in one transaction: all or nothing. */
  createTasks(requests: readonly CreateTaskRequest[]): Promise<CreatedTask[]>;

  /** A task with its steps. Throws TASKER_TASK_NOT_FOUND. */
  getTask(id: number): Promise<TaskWithSteps>;
  /** A task without its steps (one read). Throws TASKER_TASK_NOT_FOUND. */
  getTaskSummary(id: number): Promise<Task>;
  getStep(id: number): Promise<Step>;
  listTasks(filter?: ListTasksFilter): Promise<TaskPage>;
  /** The task's own transitions. */
  getTaskTransitions(taskId: number): Promise<TaskTransition[]>;
  /** Transitions of one step. */
  getStepTransitions(stepId: number): Promise<StepTransition[]>;
  /** The whole audit trail of a task: its transitions and its steps', in time order. */
  getAuditTrail(taskId: number): Promise<Array<TaskTransition | StepTransition>>;
  /** The steps of several tasks in one query (ordered by task, then position). */
  getStepsOfTasks(taskIds: readonly number[]): Promise<Step[]>;
  /**
   * Task and step state changes announced by the database (from any process on this schema). Resolves
   * once listening, with a function that unsubscribes.
   */
  subscribeStateChanges(handlers: ChangeFeedHandlers): Promise<() => void>;
  /** Resolves with the task once it is complete, in error, cancelled or resolved. */
  waitForTask(id: number, options?: { timeoutMs?: number }): Promise<TaskWithSteps>;

  /**
   * Removes finished tasks older than `olderThan` with their steps and audit trail, in small batches
   * (`dryRun`: only counts). Waits while another process prunes. docs/operations.md#retention
   */
  prune(request: PruneRequest): Promise<PruneReport>;
  /** Runs the configured retention policy now (the workers also run it every retention.intervalMs). */
  applyRetention(options?: { dryRun?: boolean }): Promise<PruneReport>;

  /**
   * Retries the tasks whose steps failed for good, resolves those steps with `results`, or cancels
   * unfinished tasks, for everything `filter` matches; `dryRun` counts. Each change is its own short
   * transaction and records who asked and why in the task's audit trail (docs/diagnostics.md).
   */
  bulk(action: BulkAction, request: BulkRequest): Promise<BulkReport>;

  /** Steps that failed for good, grouped by fingerprint, with category and hint (docs/diagnostics.md). */
  failures(filter?: FailureFilterInput): Promise<FailureGroup[]>;
  /** The failed steps of one failure group, newest first. */
  failedSteps(fingerprint: string, filter?: FailureFilterInput): Promise<FailedStep[]>;
  /** Adds a resolution-hint rule, tried before the built-in ones. */
  addHintRule(rule: HintRule): void;

  /** Starts a worker in this process (and the retention job, when a policy is configured). */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** Stops workers, closes connections. */
  close(): Promise<void>;
}

export interface TaskerDependencies {
  /** Use this database instead of opening one (it is not closed by `close()`). */
  readonly database?: Database;
  /** Telemetry seams for workers (tracing spans, log context around each handler call). */
  readonly instrumentation?: WorkerInstrumentation;
}

function isTemplate(value: unknown): value is TaskTemplate {
  return typeof value === 'object' && value !== null && typeof (value as TaskTemplate).hash === 'string';
}

/**
 * Creates an engine: opens (and migrates) the database and returns the API.
 *
 * @example
 * const tasker = await createTasker(); // embedded PGlite in ./.tasker
 * const tasker = await createTasker({ database: { url: process.env.DATABASE_URL } });
 */
export async function createTasker(
  options: TaskerOptions = {},
  dependencies: TaskerDependencies = {},
): Promise<Tasker> {
  const config = resolveConfig(options);
  const events = createTaskerEventBus({
    onSubscriberError: (error, name) => {
      telemetry.logger.error({ err: error, event: name }, 'event subscriber failed');
      telemetry.metrics?.subscriberErrors.inc({ event: name });
    },
  });
  const telemetry: Telemetry = createTelemetry(options.telemetry, options.logger, {
    database: () => database,
    inFlightSteps: () => [...workers].reduce((sum, w) => sum + w.running, 0),
    localWorkers: () => [...workers].filter((w) => w.state === 'running').length,
    clusterGauges: async () => {
      const [queue, counts, oldestRunningTaskAgeSeconds, limits] = await Promise.all([
        analytics.queueStats(),
        countByState(sql),
        oldestRunningTask(sql),
        listRateLimits(sql),
      ]);
      return {
        ...queue,
        rateLimits: limits.map((l) => ({
          name: l.name,
          tokens: l.tokens,
          effectiveRate: l.effective_rate,
          deferrals: Number(l.deferred_total),
          limited: Number(l.limited_total),
        })),
        oldestRunningTaskAgeSeconds,
        tasksByState: counts.tasks,
        stepsByState: counts.steps,
      };
    },
    events,
  });
  const detachTelemetry = telemetry.attach(events);
  const logger = telemetry.logger;
  const ownsDatabase = !dependencies.database;
  const database =
    dependencies.database ??
    (config.database.url
      ? createPostgresDatabase({
          connectionString: config.database.url,
          ...(config.database.listenUrl ? { listenConnectionString: config.database.listenUrl } : {}),
          maxConnections: config.database.maxConnections,
          onBackgroundError: (error) => logger.warn({ err: error }, 'database connection error'),
        })
      : config.database.dataDir
        ? // Shared with the other processes on this machine, never copied (docs/deployment.md).
          await openDataDir({
            dataDir: config.database.dataDir,
            onBackgroundError: (error) => logger.warn({ err: error }, 'embedded database connection error'),
          })
        : await createPgliteDatabase());

  try {
    // A server that is down, starting or full is waited for (docs/deployment.md); PGlite is in-process.
    if (database.kind === 'postgres' && config.database.url) {
      await waitForDatabase(database, {
        address: parseDatabaseUrl(config.database.url),
        timeoutMs: config.database.connectTimeoutMs,
        logger,
      });
    }
    if (config.database.migrate) await migrate(database, config.database.schema);
    for (const limit of config.rateLimits) {
      await defineRateLimit(
        createSqlContext(database, config.database.schema),
        limit.name,
        limit.rate,
        limit.burst,
      );
    }
  } catch (error) {
    // Not awaited: a connection attempt to a host that never answers would hold the error back until
    // its own timeout.
    if (ownsDatabase) void database.close().catch(() => {});
    throw translateDatabaseError(error);
  }

  const sql = createSqlContext(database, config.database.schema);
  const registry = createTemplateRegistry();
  const validator = createContextValidator();
  const handlers = new Map<string, StepHandler<never>>();
  // Built-in handlers, available to every template by name (registerHandler with replace overrides them).
  handlers.set(HTTP_HANDLER_NAME, createHttpHandler());
  handlers.set(WAIT_HANDLER_NAME, createWaitHandler());
  const notifications = createNotificationHub(database, (error) =>
    logger.error({ err: error }, 'notification listener failed'),
  );
  const workers = new Set<Worker>();
  let closed = false;

  const stored = new Map<TaskTemplate, Promise<number>>();
  const templateId = (template: TaskTemplate): Promise<number> => {
    let id = stored.get(template);
    if (!id) {
      id = storeTemplate(sql, template);
      id.catch(() => stored.delete(template));
      stored.set(template, id);
    }
    return id;
  };

  const creator = createTaskCreator({
    sql,
    registry,
    validator,
    identityStrategy: config.identity.strategy,
    templateId,
    maxConcurrentWrites:
      database.kind === 'pglite' ? 1 : Math.max(1, Math.floor(config.database.maxConnections / 2)),
    maxBatchSize: config.execution.maxBatchSize,
  });

  const assertOpen = () => {
    if (closed) throw new TaskerError('TASKER_CLOSED', 'this Tasker has been closed');
  };
  /** Runs a database call, turning the engine's SQL errors into TaskerErrors. */
  const db = async <T>(fn: () => Promise<T>): Promise<T> => {
    assertOpen();
    try {
      return await fn();
    } catch (error) {
      throw translateDatabaseError(error);
    }
  };

  const resolveHandler = (template: TaskTemplate, step: TemplateStep): StepHandler<never> => {
    if (typeof step.handler === 'function') return step.handler;
    const handler = handlers.get(step.handler);
    if (!handler) {
      throw new TaskerError(
        'TASKER_INVALID_DEFINITION',
        `step "${step.name}" of ${template.fullName} names handler "${step.handler}", which is not registered` +
          (handlers.size > 0 ? ` (registered: ${[...handlers.keys()].join(', ')})` : ''),
      );
    }
    return handler;
  };

  const getTaskSummary = async (id: number): Promise<Task> => {
    const task = await db(() => findTask(sql, id));
    if (!task) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${id} does not exist`);
    return task;
  };
  const getTask = async (id: number): Promise<TaskWithSteps> => {
    const task = await getTaskSummary(id);
    return { ...task, steps: await db(() => findSteps(sql, [id])) };
  };

  const waiter = createTaskWaiter({ sql, notifications, getTask });
  const children = createChildTasks({ creator, templateId });
  const failureViews = createFailureViews({ sql, db, registry });
  const schedules = createSchedules({
    sql,
    db,
    registry,
    creator,
    emit: (name, payload) => events.emit(name, payload),
    onChange: () => ticker.poke(),
    onError: (error, schedule) =>
      logger.error({ err: error, schedule }, `schedule ${schedule} could not fire`),
  });
  const ticker = createScheduleTicker({ schedules, logger });
  const retention = createRetention({ sql, db, config: config.retention, events, logger });
  const analytics = createAnalytics(sql, db);
  const instrumented = instrumentCreation(telemetry.tracing, events);
  const createMany = instrumented((requests) => creator.createTasks(requests));
  const createOne = instrumented(async (requests) => [await creator.createTask(requests[0]!)]);

  const operations = withOperationEvents(createOperations(sql, db), events, {
    task: (id) => findTask(sql, id),
    taskIdOfStep: async (id) => (await findStep(sql, id))?.taskId ?? null,
  });
  const bulk = createBulkOperations({ sql, db, operations });

  const tasker: Tasker = {
    config,
    events,
    logger,
    database,
    telemetry,
    ...operations,
    bulk: (action, request) => {
      assertOpen();
      return bulk(action, request);
    },
    ...createEditOperations(sql, db),
    ...createIntrospection(sql, db),
    ...analytics,
    metrics: async () => (telemetry.metrics ? telemetry.metrics.text() : ''),
    async analyzeTask(taskId, analysisOptions = {}) {
      const task = await getTask(taskId);
      return analyzeTask(task, { weights: telemetry.config.bottleneckWeights, ...analysisOptions });
    },

    register(definition, registerOptions = {}) {
      assertOpen();
      const template = isTemplate(definition) ? definition : defineTask(definition);
      validator.compile(template);
      validateCustomEvents(template);
      registry.add(template, registerOptions);
      return template;
    },

    registerHandler(name, handler, registerOptions = {}) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new TaskerError('TASKER_INVALID_DEFINITION', 'a handler name must be a non-empty string');
      }
      // A class with a process method (the original Tasker's handler shape) runs as a function.
      const fn = asStepHandler(handler);
      if (!fn) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          `handler "${name}" must be a function, or a class with a process(context) method`,
        );
      }
      if (handlers.has(name) && !registerOptions.replace) {
        throw new TaskerError(
          'TASKER_DUPLICATE_DEFINITION',
          `a handler named "${name}" is already registered; pass { replace: true } to replace it`,
        );
      }
      handlers.set(name, fn);
    },

    templates: () => registry.list(),
    template: (namespace, name, version) => registry.get(namespace, name, version),

    async createTask(request) {
      assertOpen();
      try {
        return (await createOne([request]))[0]!;
      } catch (error) {
        throw translateDatabaseError(error);
      }
    },
    async createTasks(requests) {
      assertOpen();
      try {
        return await createMany(requests);
      } catch (error) {
        throw translateDatabaseError(error);
      }
    },

    getTask,
    getTaskSummary,
    async getStep(id) {
      const step = await db(() => findStep(sql, id));
      if (!step) throw new TaskerError('TASKER_STEP_NOT_FOUND', `step ${id} does not exist`);
      return step;
    },
    listTasks: (filter = {}) => db(() => listTasks(sql, filter)),
    async getTaskTransitions(taskId) {
      await getTaskExists(taskId);
      return db(() => findTaskTransitions(sql, taskId));
    },
    async getStepTransitions(stepId) {
      await tasker.getStep(stepId);
      return db(() => findStepTransitions(sql, 'step', stepId));
    },
    async getAuditTrail(taskId) {
      await getTaskExists(taskId);
      const [own, steps] = await Promise.all([
        db(() => findTaskTransitions(sql, taskId)),
        db(() => findStepTransitions(sql, 'task', taskId)),
      ]);
      return [...own, ...steps].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },
    async getStepsOfTasks(taskIds) {
      for (const id of taskIds) assertId(id, 'taskId');
      if (taskIds.length === 0) return [];
      return db(() => findSteps(sql, [...taskIds]));
    },
    subscribeStateChanges(handlers) {
      assertOpen();
      return subscribeStateChanges(sql, notifications, handlers);
    },
    waitForTask(id, waitOptions = {}) {
      assertOpen();
      return waiter.wait(id, waitOptions);
    },

    async startWorker(workerOptions = {}) {
      assertOpen();
      const wanted = workerOptions.namespaces;
      const served = registry.list().filter((t) => !wanted || wanted.includes(t.namespace));
      if (served.length === 0) {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          wanted
            ? `no registered task templates in namespaces ${wanted.join(', ')}`
            : 'register at least one task template before starting a worker',
        );
      }
      const templates = new Map<number, TaskTemplate>();
      const usedLimits = new Map<string, string[]>();
      for (const template of served) {
        for (const step of template.steps) {
          resolveHandler(template, step); // fail early on a missing handler
          for (const { name } of step.rateLimits) {
            usedLimits.set(name, [
              ...(usedLimits.get(name) ?? []),
              `${template.fullName} step "${step.name}"`,
            ]);
          }
        }
        templates.set(await templateId(template), template);
      }
      await applyRateLimits(sql, [], usedLimits);
      const worker = await startWorker(
        {
          sql,
          config,
          logger,
          events,
          notifications,
          templates,
          resolveHandler,
          children,
          instrumentation: telemetry.instrumentation(dependencies.instrumentation),
          onStopped: (w) => workers.delete(w),
        },
        workerOptions,
      );
      workers.add(worker);
      retention.start();
      ticker.start();
      return worker;
    },

    addSchedule: (spec) => schedules.addSchedule(spec),
    listSchedules: (options) => schedules.listSchedules(options),
    getSchedule: (name, options) => schedules.getSchedule(name, options),
    pauseSchedule: (name) => schedules.pauseSchedule(name),
    resumeSchedule: (name) => schedules.resumeSchedule(name),
    removeSchedule: (name) => schedules.removeSchedule(name),
    runScheduleNow: (name) => schedules.runScheduleNow(name),
    reconcileSchedules: (specs) => schedules.reconcileSchedules(specs),

    failures: (filter) => failureViews.failures(filter),
    failedSteps: (fingerprint, filter) => failureViews.failedSteps(fingerprint, filter),
    addHintRule: (rule) => failureViews.addHintRule(rule),

    prune: (request) => {
      assertOpen();
      return retention.prune(request);
    },
    applyRetention: (retentionOptions) => {
      assertOpen();
      return retention.applyRetention(retentionOptions);
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([retention.stop(), ticker.stop(), ...[...workers].map((w) => w.stop())]);
      detachTelemetry();
      // Spans still buffered in the provider's batch processor are exported before the process ends.
      const provider = telemetry.config.tracerProvider as { forceFlush?: () => Promise<void> } | null;
      await provider
        ?.forceFlush?.()
        .catch((error: unknown) => logger.warn({ err: error }, 'flushing spans failed'));
      await notifications.close();
      if (ownsDatabase) await database.close();
    },
  };

  async function getTaskExists(taskId: number): Promise<void> {
    const task = await db(() => findTask(sql, taskId));
    if (!task) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${taskId} does not exist`);
  }

  return tasker;
}
