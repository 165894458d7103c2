/**
 * `createTasker({ telemetry })`: metrics, tracing, log context and secret masking. Everything but tracing
 * is on by default; `enabled: false` turns metrics, tracing and log context off at once (the benchmark
 * compares the two).
 */
import type { TracerProvider } from '@opentelemetry/api';
import { z } from 'zod';
import {
  type BottleneckWeights,
  bottleneckWeightsSchema,
  DEFAULT_BOTTLENECK_WEIGHTS,
} from '../analysis/bottlenecks.js';

/** Keys whose values are replaced by '[FILTERED]' in logged objects (case-insensitive substrings). */
export const DEFAULT_MASK_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'authorization',
  'credit_card',
  'card_number',
  'cvv',
  'ssn',
  'private_key',
]);

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const isTracerProvider = (v: unknown): v is TracerProvider =>
  typeof v === 'object' && v !== null && typeof (v as TracerProvider).getTracer === 'function';

export const telemetryOptionsSchema = z
  .object({
    /** Master switch: false turns metrics, tracing and log context off. @defaultValue true */
    enabled: z.boolean().optional(),
    metrics: z
      .object({
        /** @defaultValue true */
        enabled: z.boolean().optional(),
        /** Labels added to every metric (e.g. { service: 'billing' }). */
        defaultLabels: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    tracing: z
      .object({
        /**
         * Use the global tracer provider of @opentelemetry/api. @defaultValue true when `tracerProvider` is
         * given, false otherwise (tracing is off unless configured).
         */
        enabled: z.boolean().optional(),
        /** The provider to create spans with (e.g. a BasicTracerProvider with your exporter). */
        tracerProvider: z
          .custom<TracerProvider>(isTracerProvider, { message: 'expected an OpenTelemetry TracerProvider' })
          .optional(),
      })
      .strict()
      .optional(),
    log: z
      .object({
        /** Level of the default logger (ignored when you pass `logger`). @defaultValue TASKER_LOG_LEVEL or 'warn' */
        level: z.enum(LEVELS).optional(),
        /** Human-readable output via pino-pretty (default logger only). @defaultValue true when stdout is a terminal, else false (JSON lines) */
        pretty: z.boolean().optional(),
        /** Add task/step/attempt/correlation id to every line a step logs through `ctx.log`. @defaultValue true */
        context: z.boolean().optional(),
        /**
         * Also add them to lines logged through the Tasker's logger anywhere in a step's async calls, and
         * answer `telemetry.logging.current()` (AsyncLocalStorage: on Node 20 it slows every promise of
         * the process, see docs/observability.md). @defaultValue false
         */
        asyncContext: z.boolean().optional(),
        /** Mask values of keys containing one of these (strings: case-insensitive substrings). */
        maskKeys: z.array(z.union([z.string().min(1), z.instanceof(RegExp)])).optional(),
      })
      .strict()
      .optional(),
    /** Weights of the bottleneck analysis (reference defaults; see docs/observability.md). */
    bottleneckWeights: bottleneckWeightsSchema.optional(),
  })
  .strict();

export type TelemetryOptions = z.input<typeof telemetryOptionsSchema>;

export interface ResolvedTelemetry {
  readonly metrics: boolean;
  readonly defaultLabels: Readonly<Record<string, string>>;
  readonly tracerProvider: TracerProvider | null;
  readonly logContext: boolean;
  readonly logAsyncContext: boolean;
  readonly logLevel: (typeof LEVELS)[number];
  readonly prettyLogs: boolean;
  readonly maskKeys: readonly (string | RegExp)[];
  readonly bottleneckWeights: BottleneckWeights;
}

/** Fills in defaults (the options were validated with the rest of createTasker's). */
export function resolveTelemetry(
  options: TelemetryOptions = {},
  globalProvider: () => TracerProvider,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedTelemetry {
  const on = options.enabled ?? true;
  const tracingWanted = options.tracing?.enabled ?? options.tracing?.tracerProvider !== undefined;
  const envLevel = LEVELS.find((l) => l === env.TASKER_LOG_LEVEL);
  return {
    metrics: on && (options.metrics?.enabled ?? true),
    defaultLabels: options.metrics?.defaultLabels ?? {},
    tracerProvider: on && tracingWanted ? (options.tracing?.tracerProvider ?? globalProvider()) : null,
    logContext: on && (options.log?.context ?? true),
    logAsyncContext: on && (options.log?.asyncContext ?? false),
    logLevel: options.log?.level ?? envLevel ?? 'warn',
    prettyLogs: options.log?.pretty ?? process.stdout.isTTY === true,
    maskKeys: options.log?.maskKeys ?? DEFAULT_MASK_KEYS,
    bottleneckWeights: { ...DEFAULT_BOTTLENECK_WEIGHTS, ...(options.bottleneckWeights ?? {}) },
  };
}
