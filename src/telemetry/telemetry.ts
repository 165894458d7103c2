/**
 * The telemetry of one Tasker instance: its logger (step context + masking), metrics registry, tracing,
 * and the worker instrumentation that ties them to each step attempt. Built by createTasker.
 */
import { trace } from '@opentelemetry/api';
import type { Database } from '../db/database.js';
import type { StepContextExtras, TemplateStep } from '../definitions/types.js';
import { type CustomEventPublisher, createCustomEventPublisher } from '../events/custom-event-publisher.js';
import type { TaskerEventBus } from '../events/tasker-events.js';
import type { Logger } from '../model/logger.js';
import type { StepRunInfo } from '../model/step-run.js';
import type { WorkerInstrumentation } from '../worker/worker.js';
import {
  type ContextLogging,
  createContextLogging,
  createDefaultLogger,
  type LogContext,
  secretKeyMatcher,
} from './logging.js';
import { type ClusterGauges, createMetrics, type TaskerMetrics } from './metrics.js';
import { type ResolvedTelemetry, resolveTelemetry, type TelemetryOptions } from './options.js';
import { type AttemptOutcome, createTracing, type Tracing } from './tracing.js';

export interface Telemetry {
  readonly config: ResolvedTelemetry;
  readonly logger: Logger;
  readonly logging: ContextLogging;
  /** Null when metrics are off. */
  readonly metrics: TaskerMetrics | null;
  /** Null when tracing is off. */
  readonly tracing: Tracing | null;
  readonly publisher: CustomEventPublisher;
  /** Worker instrumentation; `outer` (from TaskerDependencies) wraps inside ours. */
  instrumentation(outer?: WorkerInstrumentation): WorkerInstrumentation;
  /** Starts metrics and custom-event delivery on the bus. */
  attach(events: TaskerEventBus): () => void;
}

export interface TelemetrySources {
  readonly database: () => Database;
  readonly inFlightSteps: () => number;
  readonly localWorkers: () => number;
  readonly clusterGauges: () => Promise<ClusterGauges>;
  readonly events: TaskerEventBus;
}

export function createTelemetry(
  options: TelemetryOptions | undefined,
  userLogger: Logger | undefined,
  sources: TelemetrySources,
): Telemetry {
  const config = resolveTelemetry(options, () => trace.getTracerProvider());
  const logging = createContextLogging({
    context: config.logContext,
    asyncContext: config.logAsyncContext,
    isSecret: secretKeyMatcher(config.maskKeys),
  });
  const baseLogger = userLogger ?? createDefaultLogger({ level: config.logLevel, pretty: config.prettyLogs });
  const logger = logging.wrap(baseLogger);
  const metrics = config.metrics ? createMetrics({ ...sources, logger }, config.defaultLabels) : null;
  const tracing = config.tracerProvider ? createTracing(config.tracerProvider) : null;
  const publisher = createCustomEventPublisher(sources.events);

  const instrumentation = (outer?: WorkerInstrumentation): WorkerInstrumentation => ({
    runStep<T>(info: StepRunInfo, run: () => Promise<T>): Promise<T> {
      const inner = outer?.runStep ? () => outer.runStep!(info, run) : run;
      const logged = config.logAsyncContext ? () => logging.run(logContextOf(info), inner) : inner;
      const traced = tracing ? tracing.inStepSpan(info, logged, (r) => r as AttemptOutcome | null) : logged();
      return traced.then((result) => {
        if (result === null) publisher.discard(info.stepId, info.attempt);
        return result;
      });
    },
    stepContext(info: StepRunInfo, step: TemplateStep): StepContextExtras {
      const log = config.logContext ? logging.wrap(baseLogger, logContextOf(info)) : logger;
      return { log, publish: publisher.publisherFor(info, step) };
    },
  });

  return {
    config,
    logger,
    logging,
    metrics,
    tracing,
    publisher,
    instrumentation,
    attach(events) {
      const offs = [publisher.attach(), metrics?.attach(events) ?? (() => {})];
      return () => {
        for (const off of offs) off();
      };
    },
  };
}

function logContextOf(info: StepRunInfo): LogContext {
  return {
    correlationId: info.correlationId,
    taskId: info.taskId,
    stepId: info.stepId,
    step: info.stepName,
    attempt: info.attempt,
  };
}
