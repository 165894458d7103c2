/**
 * Tasker for TypeScript: durable DAG workflows on PostgreSQL (or embedded PGlite). The public API, by
 * name: what docs/library.md describes. Everything else under src/ is internal and may change.
 */

// The context manager of the OpenTelemetry project, re-exported for applications without the Node SDK.
export { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
export {
  type Bottleneck,
  type BottleneckWeights,
  DEFAULT_BOTTLENECK_WEIGHTS,
  findBottlenecks,
  type Severity,
  severityOf,
} from './analysis/bottlenecks.js';
export { type CriticalPath, criticalPath, type TaskTiming } from './analysis/critical-path.js';
export type { GraphStep } from './analysis/graph-step.js';
export {
  analyzeSteps,
  analyzeTask,
  type DependencyAnalysis,
  type DependencyAnalysisOptions,
  dependencyLevels,
  type ParallelismPotential,
  taskTiming,
} from './analysis/task-dependencies.js';
export { registerObservabilityRoutes } from './api/observability-routes.js';
export { defineConfig, type TaskerConfigFile } from './config/config-schema.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './config/load-config.js';
export type { Logger, ResolvedConfig, TaskerOptions } from './config/options.js';
export type { Database } from './db/database.js';
export { defineTask } from './definitions/define-task.js';
export { exampleFromSchema } from './definitions/example-from-schema.js';
export type {
  ContextOf,
  Jsonify,
  ParentsOf,
  StoredResult,
  TaskBuilder,
  TaskHeader,
  TypedStepHandler,
  TypedStepOptions,
} from './definitions/typed-task.js';
export type {
  CompensationInputs,
  CustomEventDefinition,
  JsonSchema,
  StepContext,
  StepDefinition,
  StepHandler,
  StepHandlerClass,
  TaskDefinition,
  TaskTemplate,
  TemplateStep,
  ZodSchemaOf,
} from './definitions/types.js';
export { classifyError, ERROR_CATEGORIES, type ErrorCategory } from './diagnostics/classify.js';
export { fingerprintError } from './diagnostics/fingerprint.js';
export { BUILTIN_HINT_RULES, type FailureFacts, type HintRule } from './diagnostics/hints.js';
export { type BackoffPolicy, DEFAULT_BACKOFF } from './engine/backoff.js';
export type { BulkAction, BulkReport, BulkRequest } from './engine/bulk-operations.js';
export type { StepUpdate, TaskUpdate } from './engine/edit-operations.js';
export type { FailedStep, FailureFilterInput, FailureGroup } from './engine/failure-view.js';
export type { ExecutionStatus, StepReadiness, TaskExecutionContext } from './engine/introspection.js';
export type { TaskPage } from './engine/list-tasks.js';
export type { RetentionOptions } from './engine/retention-policy.js';
export type { Schedule, ScheduleSpec } from './engine/schedules.js';
export type {
  AnalyticsMetrics,
  LiveWorker,
  QueueStats,
  SlowestFilter,
  SlowStep,
  SlowTask,
  SystemHealthCounts,
} from './engine/sql/analytics-queries.js';
export type { ScheduleFire } from './engine/sql/schedule-queries.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isTaskerError,
  PermanentError,
  type Problem,
  RateLimitedError,
  RetryableError,
  StepAbortedError,
  StepTimeoutError,
  TaskerError,
} from './errors.js';
export type {
  CustomEventPayload,
  Delivered,
  StepAttemptPayload,
  StepCompletedPayload,
  StepExecutionRequestedPayload,
  StepFailedPayload,
  StepResolvedPayload,
  SystemEventName,
  SystemEvents,
  TaskCreatedPayload,
  TaskEventBase,
  TaskFinishedPayload,
  TaskOperationPayload,
  TemplateLabels,
} from './events/catalog.js';
export { SYSTEM_EVENT_NAMES } from './events/catalog.js';
export { customEventNameProblem } from './events/custom-events.js';
export type { AnySystemEvent, TaskerEventBus } from './events/tasker-events.js';
export {
  createHttpHandler,
  type HttpHandlerConfig,
  type HttpHandlerOptions,
} from './handlers/http-handler.js';
export type { CreateTaskRequest, ListTasksFilter } from './model/contracts.js';
export {
  STEP_STATES,
  STEP_TRANSITIONS,
  type StepState,
  TASK_STATES,
  TASK_TRANSITIONS,
  type TaskState,
} from './model/states.js';
export type {
  CreatedTask,
  Step,
  StepError,
  StepTransition,
  Task,
  TaskTransition,
  TaskWithSteps,
} from './model/types.js';
export { createTasker, type Tasker, type TaskerDependencies } from './tasker.js';
export { maskSecrets, secretKeyMatcher } from './telemetry/logging.js';
export type { TelemetryOptions } from './telemetry/options.js';
export { createOtlpTracerProvider, type OtlpTracingOptions } from './telemetry/otlp.js';
export { logStepOutcomes } from './telemetry/step-outcome-log.js';
export type { Telemetry } from './telemetry/telemetry.js';
export {
  type LoadedWorkflows,
  type LoadWorkflowsOptions,
  loadWorkflows,
  registerWorkflows,
} from './templates/load-templates.js';
export type { PruneReport, PruneRequest } from './worker/retention-job.js';
export { type Closable, type CloseOnSignalsOptions, closeOnSignals } from './worker/signals.js';
export type { Worker, WorkerOptions } from './worker/worker.js';
