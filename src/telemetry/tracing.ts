/**
 * OpenTelemetry spans (through @opentelemetry/api only: the application chooses the SDK and exporter).
 *
 * - `tasker.task`: started when a task is created, as a child of the creating request's trace (the
 *   request's `traceparent`, else the active context). Its context is what the task stores as its
 *   traceparent, so the steps, run by any worker in any process, join the same trace. It ends once the
 *   task is stored: a process cannot keep a span open across other processes' work, so it marks creation.
 * - `HTTP <method> <route>`: a server span per API request, a child of the caller's `traceparent` header.
 *   Tasks created by the request are children of it, so one trace joins the request, the creation and
 *   every step attempt, whichever processes run them.
 * - `tasker.step`: one per step attempt, a child of the task span, active while the handler runs (a
 *   handler's own spans nest under it when a context manager is registered, as the Node SDK does).
 */

import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { StepRunInfo } from '../model/step-run.js';

const propagator = new W3CTraceContextPropagator();
const TRACER_NAME = 'tasker';

/** The context a traceparent header value describes (ROOT_CONTEXT when it is missing or invalid). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/** The traceparent header value of a span's context. */
export function traceparentOf(span: Span): string | null {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent ?? null;
}

export interface TaskSpanInput {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly traceparent?: string | null;
}

/** What a step attempt's span is made from: the worker's view of the attempt. */
export type StepSpanInput = StepRunInfo;

/** What a step attempt came to, read from the worker's outcome. */
export interface AttemptOutcome {
  readonly ok: boolean;
  /** The attempt started this child task and waits for it. */
  readonly await_child?: number;
  readonly permanent?: boolean;
  readonly error?: { readonly class: string; readonly message: string };
}

export interface RequestSpanInput {
  readonly method: string;
  /** The route pattern (`/tasker/tasks/:id`), never the raw URL (ids would make every name unique). */
  readonly route: string;
  /** The caller's `traceparent` header, if any. */
  readonly traceparent: string | undefined;
}

export interface Tracing {
  /** Starts the server span of an API request; returns it with its traceparent. */
  startRequestSpan(input: RequestSpanInput): { span: Span; traceparent: string | null };
  /** Starts a task span; returns it with the traceparent the task should store. */
  startTaskSpan(input: TaskSpanInput): { span: Span; traceparent: string | null };
  /** Runs `run` inside a step span; `outcomeOf` reads the attempt's outcome from its result. */
  inStepSpan<T>(
    input: StepSpanInput,
    run: () => Promise<T>,
    outcomeOf: (result: T) => AttemptOutcome | null,
  ): Promise<T>;
}

export function createTracing(provider: TracerProvider): Tracing {
  const tracer: Tracer = provider.getTracer(TRACER_NAME);
  return {
    startRequestSpan(input) {
      const span = tracer.startSpan(
        `HTTP ${input.method} ${input.route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': input.method, 'http.route': input.route },
        },
        contextFromTraceparent(input.traceparent),
      );
      return { span, traceparent: traceparentOf(span) };
    },
    startTaskSpan(input) {
      const parent = input.traceparent ? contextFromTraceparent(input.traceparent) : context.active();
      const span = tracer.startSpan(
        'tasker.task',
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'tasker.namespace': input.namespace,
            'tasker.task.name': input.name,
            'tasker.task.version': input.version,
          },
        },
        parent,
      );
      return { span, traceparent: traceparentOf(span) };
    },
    async inStepSpan(input, run, outcomeOf) {
      const attributes: Attributes = {
        'tasker.namespace': input.namespace,
        'tasker.task.name': input.name,
        'tasker.task.version': input.version,
        'tasker.task.id': input.taskId,
        'tasker.step.id': input.stepId,
        'tasker.step.name': input.stepName,
        'tasker.step.attempt': input.attempt,
      };
      if (input.correlationId) attributes['tasker.correlation_id'] = input.correlationId;
      const parent = contextFromTraceparent(input.traceparent);
      const span = tracer.startSpan(
        `tasker.step ${input.stepName}`,
        { kind: SpanKind.INTERNAL, attributes },
        parent,
      );
      try {
        const result = await context.with(trace.setSpan(parent, span), run);
        const outcome = outcomeOf(result);
        if (!outcome) {
          span.setAttribute('tasker.step.outcome', 'abandoned');
        } else if (outcome.await_child !== undefined) {
          span.setAttribute('tasker.step.outcome', 'waiting_for_child');
          span.setAttribute('tasker.child_task_id', outcome.await_child);
        } else if (outcome.ok) {
          span.setAttribute('tasker.step.outcome', 'completed');
          span.setStatus({ code: SpanStatusCode.OK });
        } else {
          span.setAttribute('tasker.step.outcome', outcome.permanent ? 'failed' : 'retryable_failure');
          if (outcome.error) {
            span.setAttribute('error.type', outcome.error.class);
            span.setAttribute('tasker.step.error', outcome.error.message.slice(0, 1000));
          }
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error?.message });
        }
        return result;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    },
  };
}
