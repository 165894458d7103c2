import { context } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AsyncLocalStorageContextManager,
  createTasker,
  defineTask,
  RetryableError,
  type StepContext,
} from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

function tracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider };
}

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});

// The trace of an incoming request: trace id and span id of the caller.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const REQUEST_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${REQUEST_SPAN}-01`;

function workflow(appTracer: () => ReturnType<BasicTracerProvider['getTracer']>) {
  return defineTask({
    namespace: 'ship',
    name: 'deliver',
    version: '1.2.0',
    steps: [
      {
        name: 'label',
        handler: async () => {
          await new Promise((r) => setTimeout(r, 5));
          appTracer().startSpan('carrier.api').end(); // the handler's own span
          return 1;
        },
      },
      {
        name: 'dispatch',
        dependsOn: ['label'],
        handler: (ctx: StepContext) => {
          if (ctx.attempt === 1) throw new RetryableError('carrier busy');
          return 2;
        },
      },
    ],
  });
}

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe.each(BACKENDS)('traces (%s)', (backend) => {
  test('a task span continues the request trace; each step attempt is a child span; handler spans nest', async () => {
    const { exporter, provider } = tracer();
    const { tasker } = await testTasker(backend, { telemetry: { tracing: { tracerProvider: provider } } });
    tasker.register(workflow(() => provider.getTracer('app')));
    await tasker.startWorker();
    const created = await tasker.createTask({ namespace: 'ship', name: 'deliver', traceparent: TRACEPARENT });
    const done = await tasker.waitForTask(created.id);
    expect(done.state).toBe('complete');
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();

    const [task] = byName(spans, 'tasker.task');
    expect(task!.spanContext().traceId).toBe(TRACE_ID);
    expect(task!.parentSpanContext?.spanId).toBe(REQUEST_SPAN);
    expect(task!.attributes).toMatchObject({
      'tasker.namespace': 'ship',
      'tasker.task.name': 'deliver',
      'tasker.task.version': '1.2.0',
      'tasker.task.id': created.id,
    });
    // The stored traceparent is the task span's.
    expect(done.traceparent).toBe(`00-${TRACE_ID}-${task!.spanContext().spanId}-01`);

    const [label] = byName(spans, 'tasker.step label');
    expect(label!.parentSpanContext?.spanId).toBe(task!.spanContext().spanId);
    expect(label!.spanContext().traceId).toBe(TRACE_ID);
    expect(label!.attributes).toMatchObject({
      'tasker.step.name': 'label',
      'tasker.step.attempt': 1,
      'tasker.step.outcome': 'completed',
      'tasker.task.id': created.id,
    });
    const [handlerSpan] = byName(spans, 'carrier.api');
    expect(handlerSpan!.parentSpanContext?.spanId).toBe(label!.spanContext().spanId);

    const dispatch = byName(spans, 'tasker.step dispatch').sort(
      (a, b) => Number(a.attributes['tasker.step.attempt']) - Number(b.attributes['tasker.step.attempt']),
    );
    expect(
      dispatch.map((s) => [s.attributes['tasker.step.attempt'], s.attributes['tasker.step.outcome']]),
    ).toEqual([
      [1, 'retryable_failure'],
      [2, 'completed'],
    ]);
    expect(dispatch[0]!.attributes['error.type']).toBe('RetryableError');
    expect(dispatch[0]!.status.code).toBe(2); // ERROR
    expect(dispatch.every((s) => s.parentSpanContext?.spanId === task!.spanContext().spanId)).toBe(true);
  });

  test('a step run by a worker of another Tasker instance joins the same trace', async () => {
    const creator = tracer();
    const runner = tracer();
    const { tasker, schema, db } = await testTasker(backend, {
      telemetry: { tracing: { tracerProvider: creator.provider } },
    });
    const other = await createTasker(
      {
        database: { schema },
        execution: { pollIntervalMs: 200 },
        telemetry: { tracing: { tracerProvider: runner.provider } },
      },
      { database: db },
    );
    try {
      tasker.register(workflow(() => runner.provider.getTracer('app')));
      other.register(workflow(() => runner.provider.getTracer('app')));
      const created = await tasker.createTask({ namespace: 'ship', name: 'deliver' });
      await other.startWorker();
      expect((await tasker.waitForTask(created.id)).state).toBe('complete');
      await creator.provider.forceFlush();
      await runner.provider.forceFlush();
      const [task] = byName(creator.exporter.getFinishedSpans(), 'tasker.task');
      const steps = runner.exporter.getFinishedSpans().filter((s) => s.name.startsWith('tasker.step'));
      expect(steps).toHaveLength(3);
      for (const step of steps) {
        expect(step.spanContext().traceId).toBe(task!.spanContext().traceId);
        expect(step.parentSpanContext?.spanId).toBe(task!.spanContext().spanId);
      }
      expect(byName(creator.exporter.getFinishedSpans(), 'tasker.step label')).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('without a configured provider there are no spans and the traceparent is stored as given', async () => {
    const { tasker } = await testTasker(backend);
    expect(tasker.telemetry.tracing).toBeNull();
    tasker.register(workflow(() => tracer().provider.getTracer('app')));
    const created = await tasker.createTask({ namespace: 'ship', name: 'deliver', traceparent: TRACEPARENT });
    expect((await tasker.getTask(created.id)).traceparent).toBe(TRACEPARENT);
  });
});
