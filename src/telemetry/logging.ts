/**
 * Structured logs: the default pino logger (level, pretty output), a wrapper that adds a step's context
 * (correlation id, task id, step id, attempt) to the lines it logs, and masking of secret fields in
 * everything logged. A step's `ctx.log` is bound to its context; lines logged through the Tasker's logger
 * anywhere in a step's async calls get it too only with `asyncContext` (AsyncLocalStorage), off by
 * default: on Node 20 an AsyncLocalStorage, once used, adds a hook to every promise the process creates
 * (about 0.25 µs each, measured), which cost more than the rest of the telemetry together.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../model/logger.js';

/** What every log line from inside a step carries. */
export interface LogContext {
  readonly correlationId: string | null;
  readonly taskId: number;
  readonly stepId: number;
  readonly step: string;
  readonly attempt: number;
}

export const FILTERED = '[FILTERED]';

export function createDefaultLogger(options: { level: string; pretty: boolean }): Logger {
  const base = { name: 'tasker', level: options.level };
  return options.pretty ? pino(base, prettyStream(1)) : pino(base);
}

/**
 * Human-readable lines for a person at a terminal: local time, level, message, then the fields on the
 * same line. Colours only on a terminal and without NO_COLOR. Synchronous, so a line is out before the
 * process exits.
 */
export function prettyStream(fd: 1 | 2) {
  const stream = fd === 1 ? process.stdout : process.stderr;
  return pretty({
    destination: fd,
    sync: true,
    colorize: stream.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
}

/** Whether a key names a secret: strings match as case-insensitive substrings, RegExps as they are. */
export function secretKeyMatcher(patterns: readonly (string | RegExp)[]): (key: string) => boolean {
  const lower = patterns.filter((p): p is string => typeof p === 'string').map((p) => p.toLowerCase());
  const regexps = patterns.filter((p): p is RegExp => p instanceof RegExp);
  return (key) => {
    const k = key.toLowerCase();
    return lower.some((p) => k.includes(p)) || regexps.some((r) => r.test(key));
  };
}

/**
 * A copy of `value` with the values of secret keys replaced by '[FILTERED]', at any depth of plain
 * objects and arrays. Other objects (errors, dates) are kept as they are; cycles are cut.
 */
export function maskSecrets<T>(
  value: T,
  isSecret: (key: string) => boolean,
  seen = new WeakSet<object>(),
): T {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]' as T;
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => maskSecrets(v, isSecret, seen)) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = isSecret(k) ? FILTERED : maskSecrets(v, isSecret, seen);
  return out as T;
}

export interface ContextLogging {
  /** The step context of the code running now, if inside a step (only with `asyncContext`). */
  current(): LogContext | undefined;
  /** Runs `fn` with `context` as the current step context (only with `asyncContext`; else just runs it). */
  run<T>(context: LogContext, fn: () => T): T;
  /**
   * Wraps a logger: secrets are masked, and every line gets the step context: `bound` when given (a
   * step's `ctx.log`), else the current one.
   */
  wrap(logger: Logger, bound?: LogContext): Logger;
}

export function createContextLogging(options: {
  /** Lines of a logger bound to a step carry its context. */
  context: boolean;
  /** Lines logged anywhere in a step's async calls carry its context (AsyncLocalStorage). */
  asyncContext: boolean;
  isSecret: (key: string) => boolean;
}): ContextLogging {
  const storage = options.asyncContext ? new AsyncLocalStorage<LogContext>() : null;
  const current = () => storage?.getStore();
  const wrap = (logger: Logger, bound?: LogContext): Logger =>
    new MaskingLogger(logger, options.isSecret, options.context ? bound : undefined, current);
  return {
    current,
    run: (context, fn) => (storage ? storage.run(context, fn) : fn()),
    wrap,
  };
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'trace';
// pino's fatal/trace and level are forwarded when the logger has them, so the wrapper can be handed to
// code that expects a pino logger (Fastify's loggerInstance checks for them).
type BaseLogger = Logger & Partial<Record<'fatal' | 'trace', Logger['info']>> & { level?: string };

/**
 * Masks secrets and adds a step context (`bound`, else the current one) to every line. One small object
 * with its methods on the prototype: a step's `ctx.log` is made for every attempt, and a closure per level
 * cost 1.7 µs per attempt (measured). Call its methods on it, as pino's.
 */
class MaskingLogger implements Logger {
  readonly #base: BaseLogger;
  readonly #isSecret: (key: string) => boolean;
  readonly #bound: LogContext | undefined;
  readonly #current: () => LogContext | undefined;

  constructor(
    base: Logger,
    isSecret: (key: string) => boolean,
    bound: LogContext | undefined,
    current: () => LogContext | undefined,
  ) {
    this.#base = base;
    this.#isSecret = isSecret;
    this.#bound = bound;
    this.#current = current;
  }

  debug(obj: object, msg?: string): void {
    this.#write('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#write('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#write('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#write('error', obj, msg);
  }
  fatal(obj: object, msg?: string): void {
    this.#write('fatal', obj, msg);
  }
  trace(obj: object, msg?: string): void {
    this.#write('trace', obj, msg);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>): Logger {
    const base = this.#base;
    const child = base.child ? base.child(maskSecrets(bindings, this.#isSecret)) : base;
    return new MaskingLogger(child, this.#isSecret, this.#bound, this.#current);
  }

  get level(): string {
    return this.#base.level ?? 'info';
  }
  set level(value: string) {
    if (this.#base.level !== undefined) this.#base.level = value;
  }

  #write(level: Level, obj: object, msg: string | undefined): void {
    const base = this.#base;
    const method = base[level] ?? (level === 'fatal' ? base.error : base.debug);
    const ctx = this.#bound ?? this.#current();
    // pino also accepts a message alone: keep the step context on it.
    if (typeof obj === 'string') {
      method.call(base, ctx ? { ...ctx } : {}, obj);
      return;
    }
    if (typeof obj !== 'object' || obj === null) {
      method.call(base, obj as unknown as object, msg);
      return;
    }
    const masked = maskSecrets(obj, this.#isSecret);
    const line = ctx ? { ...ctx, ...masked } : masked;
    if (msg === undefined) method.call(base, line);
    else method.call(base, line, msg);
  }
}
