/**
 * A tracer provider exporting spans over OTLP/HTTP (JSON) to a collector, e.g. Jaeger, Tempo or an
 * OpenTelemetry Collector at http://127.0.0.1:4318. Used when the configuration names an endpoint
 * (telemetry.otlpEndpoint, TASKER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT); in code, pass any
 * provider as `createTasker({ telemetry: { tracing: { tracerProvider } } })`.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface OtlpTracingOptions {
  /** The collector's base URL; spans go to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  readonly serviceName: string;
}

export function createOtlpTracerProvider(options: OtlpTracingOptions): BasicTracerProvider {
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/traces`;
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
}
