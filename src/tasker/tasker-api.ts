/** The public shape of a Tasker instance (docs/library.md); `createTasker` (src/tasker.ts) builds it. */
import type { DependencyAnalysis, DependencyAnalysisOptions } from '../analysis/task-dependencies.js';
import type { Logger, ResolvedConfig } from '../config/options.js';
import type { Database } from '../db/database.js';
import type { StepHandler, StepHandlerClass, TaskDefinition, TaskTemplate } from '../definitions/types.js';
import type { HintRule } from '../diagnostics/hints.js';
import type { BulkAction, BulkReport, BulkRequest } from '../engine/bulk-operations.js';
import type { ChangeFeedHandlers } from '../engine/change-feed.js';
import type { CreateTaskRequest } from '../engine/create-tasks.js';
import type { EditOperations } from '../engine/edit-operations.js';
import type { FailedStep, FailureFilterInput, FailureGroup } from '../engine/failure-view.js';
import type { Introspection } from '../engine/introspection.js';
import type { ListTasksFilter, TaskPage } from '../engine/list-tasks.js';
import type { Operations } from '../engine/operations.js';
import type { Schedules } from '../engine/schedules.js';
import type { Analytics } from '../engine/sql/analytics-queries.js';
import type { TaskerEventBus } from '../events/tasker-events.js';
import type {
  CreatedTask,
  Step,
  StepTransition,
  Task,
  TaskTransition,
  TaskWithSteps,
} from '../model/types.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { ArchivePartition, PruneReport, PruneRequest } from '../worker/retention-job.js';
import type { Worker, WorkerInstrumentation, WorkerOptions } from '../worker/worker.js';
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
   * (`dryRun`: only counts; `archive`: moves them into the archive instead). Waits while another process
   * prunes. docs/operations.md#retention
   */
  prune(request: PruneRequest): Promise<PruneReport>;
  /** Runs the configured retention policy now (the workers also run it every retention.intervalMs). */
  applyRetention(options?: { dryRun?: boolean }): Promise<PruneReport>;
  /** The archive's monthly partitions, oldest first (docs/operations.md#archiving). */
  archivePartitions(): Promise<ArchivePartition[]>;

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
