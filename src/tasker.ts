/**
 * `createTasker`: the engine instance, and its composition root. It owns a database connection (embedded
 * PGlite by default, or a PostgreSQL pool), the registry of task templates and step handlers, the event
 * bus and the workers it starts. Several instances can live side by side (e.g. one per schema); nothing is
 * global. Each part is built by its own factory (src/tasker/, src/engine/, src/worker/); this file wires
 * them and lays out the public methods (their contract is src/tasker/tasker-api.ts).
 */

import { analyzeTask } from './analysis/task-dependencies.js';
import { resolveConfig, type TaskerOptions } from './config/options.js';
import { translateDatabaseError } from './db/sql-errors.js';
import { createContextValidator } from './definitions/context-validator.js';
import { defineTask } from './definitions/define-task.js';
import { createTemplateRegistry } from './definitions/registry.js';
import type { TaskTemplate } from './definitions/types.js';
import { createBulkOperations } from './engine/bulk-operations.js';
import { subscribeStateChanges } from './engine/change-feed.js';
import { createChildTasks } from './engine/child-tasks.js';
import { createTaskCreator } from './engine/create-tasks.js';
import { createEditOperations } from './engine/edit-operations.js';
import { createFailureViews } from './engine/failure-view.js';
import { createIntrospection } from './engine/introspection.js';
import { createNotificationHub } from './engine/notifications.js';
import { createOperations } from './engine/operations.js';
import { createSchedules } from './engine/schedules.js';
import { createAnalytics } from './engine/sql/analytics-queries.js';
import { createSqlContext } from './engine/sql/sql-context.js';
import { findStep, findTask } from './engine/sql/task-queries.js';
import { createTaskWaiter } from './engine/wait-for-task.js';
import { validateCustomEvents } from './events/custom-events.js';
import { withOperationEvents } from './events/operation-events.js';
import { createTaskerEventBus } from './events/tasker-events.js';
import { readClusterGauges } from './tasker/cluster-gauges.js';
import { createHandlerRegistry } from './tasker/handler-registry.js';
import { createLocalWorkers } from './tasker/local-workers.js';
import { openDatabase } from './tasker/open-database.js';
import { createOpenGuard } from './tasker/open-guard.js';
import { refuseArchived } from './tasker/refuse-archived.js';
import { createTaskReads } from './tasker/task-reads.js';
import type { Tasker, TaskerDependencies } from './tasker/tasker-api.js';
import { createTemplateIds } from './tasker/template-ids.js';
import { instrumentCreation } from './telemetry/task-creation.js';
import { createTelemetry, type Telemetry } from './telemetry/telemetry.js';
import { createRetention } from './worker/retention-job.js';
import { createScheduleTicker } from './worker/schedule-ticker.js';

export type { ScheduleOperations, Tasker, TaskerDependencies } from './tasker/tasker-api.js';

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

  // Telemetry first: opening the database logs. Its sources are read only once the parts below exist.
  const events = createTaskerEventBus({
    onSubscriberError: (error, name) => {
      telemetry.logger.error({ err: error, event: name }, 'event subscriber failed');
      telemetry.metrics?.subscriberErrors.inc({ event: name });
    },
  });
  const telemetry: Telemetry = createTelemetry(options.telemetry, options.logger, {
    database: () => database,
    inFlightSteps: () => workers.runningSteps(),
    localWorkers: () => workers.runningWorkers(),
    clusterGauges: () => readClusterGauges(sql, analytics),
    events,
  });
  const detachTelemetry = telemetry.attach(events);
  const logger = telemetry.logger;

  const { database, owned: ownsDatabase } = await openDatabase(config, dependencies.database, logger);
  const sql = createSqlContext(database, config.database.schema);
  const guard = createOpenGuard();
  const { assertOpen, db } = guard;
  const notifications = createNotificationHub(database, (error) =>
    logger.error({ err: error }, 'notification listener failed'),
  );

  // Templates and handlers.
  const registry = createTemplateRegistry();
  const validator = createContextValidator();
  const handlers = createHandlerRegistry();
  const templateId = createTemplateIds(sql);

  // Creating, reading and operating tasks.
  const creator = createTaskCreator({
    sql,
    registry,
    validator,
    identityStrategy: config.identity.strategy,
    templateId,
    maxConcurrentWrites:
      database.kind === 'pglite' ? 1 : Math.max(1, Math.floor(config.database.maxConnections / 2)),
    maxBatchSize: config.execution.maxBatchSize,
    lendClaim: (namedTaskId) => workers.lendClaim(namedTaskId),
  });
  const instrumented = instrumentCreation(telemetry.tracing, events);
  const createMany = instrumented((requests) => creator.createTasks(requests));
  const createOne = instrumented(async (requests) => [await creator.createTask(requests[0]!)]);
  const reads = createTaskReads(sql, guard);
  const waiter = createTaskWaiter({ sql, notifications, getTask: reads.getTask });
  const operations = withOperationEvents(createOperations(sql, db), events, {
    task: (id) => findTask(sql, id),
    taskIdOfStep: async (id) => (await findStep(sql, id))?.taskId ?? null,
  });
  const bulk = createBulkOperations({ sql, db, operations });
  const failureViews = createFailureViews({ sql, db, registry });
  const analytics = createAnalytics(sql, db);

  // Background jobs and workers.
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
  const workers = createLocalWorkers({
    sql,
    registry,
    templateId,
    workerDeps: {
      sql,
      config,
      logger,
      events,
      notifications,
      resolveHandler: handlers.resolve,
      children: createChildTasks({ creator, templateId }),
      instrumentation: telemetry.instrumentation(dependencies.instrumentation),
    },
    onStarted: () => {
      retention.start();
      ticker.start();
    },
  });

  const tasker: Tasker = {
    config,
    events,
    logger,
    database,
    telemetry,
    ...refuseArchived(sql, db, operations, {
      cancelTask: 'task',
      retryTask: 'task',
      resolveStep: 'step',
      signal: 'task',
      annotateTask: 'task',
    }),
    bulk: (action, request) => {
      assertOpen();
      return bulk(action, request);
    },
    ...refuseArchived(sql, db, createEditOperations(sql, db), {
      updateTask: 'task',
      updateStep: 'step',
      cancelStep: 'step',
      retryStep: 'step',
    }),
    ...refuseArchived(sql, db, createIntrospection(sql, db), {
      stepReadiness: 'task',
      executionContext: 'task',
      dependencyLevels: 'task',
    }),
    ...analytics,
    ...reads,
    metrics: async () => (telemetry.metrics ? telemetry.metrics.text() : ''),
    async analyzeTask(taskId, analysisOptions = {}) {
      const task = await reads.getTask(taskId);
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
    registerHandler: (name, handler, registerOptions) => handlers.register(name, handler, registerOptions),
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

    subscribeStateChanges(changeHandlers) {
      assertOpen();
      return subscribeStateChanges(sql, notifications, changeHandlers);
    },
    waitForTask(id, waitOptions = {}) {
      assertOpen();
      return waiter.wait(id, waitOptions);
    },

    async startWorker(workerOptions = {}) {
      assertOpen();
      return workers.start(workerOptions);
    },

    addSchedule: (spec) => schedules.addSchedule(spec),
    listSchedules: (listOptions) => schedules.listSchedules(listOptions),
    getSchedule: (name, getOptions) => schedules.getSchedule(name, getOptions),
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
    archivePartitions: () => {
      assertOpen();
      return retention.archivePartitions();
    },

    async close() {
      if (!guard.close()) return;
      await Promise.all([retention.stop(), ticker.stop(), workers.stopAll()]);
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
  return tasker;
}
