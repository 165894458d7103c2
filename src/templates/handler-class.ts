/**
 * `handler_class` as the original Tasker writes it: a Ruby constant path such as
 * `Ecommerce::StepHandlers::ValidateCartHandler`. Exported names cannot hold `::`, so a path is bound to
 * the handler modules' exports by matching its segments from the end: an export whose own path (its
 * name, or its place in nested export objects: `export const Ecommerce = { StepHandlers: { ... } }`)
 * shares the most trailing segments with it. One best match binds; none or several is a problem that
 * lists the candidates. Handlers may be functions or, as in the original, classes with a `process`
 * method (instantiated once). Pure apart from reading the modules already imported.
 */
import { basename, extname } from 'node:path';
import type { StepHandler } from '../definitions/types.js';

/** One function (or handler class) the handler modules export, with where it sits. */
export interface HandlerExport {
  /** Export path: `['validateCart']`, or `['Ecommerce', 'StepHandlers', 'ValidateCartHandler']`. */
  readonly path: readonly string[];
  readonly value: unknown;
  /** The module file, for messages. */
  readonly file: string;
}

const MAX_DEPTH = 5;

/** True for a class (or constructor function) whose instances have a `process` method. */
function isHandlerClass(value: unknown): value is new () => { process(ctx: unknown): unknown } {
  return (
    typeof value === 'function' &&
    typeof (value as { prototype?: { process?: unknown } }).prototype?.process === 'function'
  );
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/**
 * The step handler an export stands for: a function as it is; a class with a `process` method as a
 * function calling `process` on one instance (made on first use, as the original makes one handler per
 * step template). Null for anything else, e.g. a class without `process`.
 */
export function asStepHandler(value: unknown): StepHandler<never> | null {
  if (isHandlerClass(value)) {
    let instance: { process(ctx: unknown): unknown } | null = null;
    const Handler = value;
    return (ctx) => {
      instance ??= new Handler();
      return instance.process(ctx);
    };
  }
  if (typeof value === 'function' && !isClass(value)) return value as StepHandler<never>;
  return null;
}

/** Every function or handler class the modules export, nested export objects included. */
export function handlerExports(
  modules: ReadonlyArray<{ readonly file: string; readonly module: Record<string, unknown> }>,
): HandlerExport[] {
  const out: HandlerExport[] = [];
  const walk = (value: unknown, path: string[], file: string, depth: number, seen: Set<unknown>) => {
    if (typeof value === 'function') {
      out.push({ path, value, file });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || depth >= MAX_DEPTH) return;
    if (seen.has(value)) return;
    seen.add(value);
    for (const [key, child] of Object.entries(value)) walk(child, [...path, key], file, depth + 1, seen);
  };
  for (const { file, module } of modules) {
    for (const [key, value] of Object.entries(module)) {
      if (key === 'default' && typeof value === 'function') {
        out.push({ path: [basename(file, extname(file))], value, file });
      } else if (key === 'default') walk(value, [], file, 0, new Set());
      else walk(value, [key], file, 0, new Set());
    }
  }
  return out;
}

/** Splits `A::B::C` (or `A.B.C`) into segments. */
export function classPathSegments(handlerClass: string): string[] {
  return handlerClass
    .split(/::|\./)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** True when the reference reads as a constant path rather than a plain handler name. */
export function isClassPath(handler: string): boolean {
  return handler.includes('::');
}

export type HandlerClassResolution =
  | { readonly kind: 'found'; readonly handler: StepHandler<never>; readonly match: HandlerExport }
  | { readonly kind: 'problem'; readonly message: string }
  | { readonly kind: 'none' };

const shown = (e: HandlerExport) => e.path.join('.');

function listed(exports: readonly HandlerExport[], limit = 12): string {
  const names = exports.map(shown);
  return names.length > limit
    ? `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`
    : names.join(', ');
}

/**
 * Binds a handler_class to an export. `none` when nothing shares even the last segment and the reference
 * is a plain name (the caller reports unknown plain names its own way).
 */
export function resolveHandlerClass(
  handlerClass: string,
  exports: readonly HandlerExport[],
): HandlerClassResolution {
  const segments = classPathSegments(handlerClass);
  if (segments.length === 0) return { kind: 'none' };
  const trailing = (e: HandlerExport) => {
    let n = 0;
    while (
      n < segments.length &&
      n < e.path.length &&
      segments[segments.length - 1 - n] === e.path[e.path.length - 1 - n]
    ) {
      n++;
    }
    return n;
  };
  const scored = exports.map((e) => ({ e, n: trailing(e) })).filter((s) => s.n > 0);
  const best = Math.max(0, ...scored.map((s) => s.n));
  const matches = scored.filter((s) => s.n === best).map((s) => s.e);
  if (matches.length === 1) {
    const match = matches[0]!;
    const handler = asStepHandler(match.value);
    if (!handler) {
      return {
        kind: 'problem',
        message: `handler_class "${handlerClass}" matches ${shown(match)} (${match.file}), which is a class without a process(context) method`,
      };
    }
    return { kind: 'found', handler, match };
  }
  if (matches.length > 1) {
    return {
      kind: 'problem',
      message: `handler_class "${handlerClass}" matches several exports equally well: ${matches
        .map((m) => `${shown(m)} (${m.file})`)
        .join(', ')}; export one under the full path (e.g. export const ${segments[0]} = { ... }) to choose`,
    };
  }
  if (!isClassPath(handlerClass)) return { kind: 'none' };
  const last = segments[segments.length - 1]!;
  return {
    kind: 'problem',
    message: `handler_class "${handlerClass}" matches no export of the handler modules; expected a function or class named ${last} (export function ${last}, export class ${last} { process(ctx) {...} }, or nested: export const ${segments[0]} = { ... })${
      exports.length > 0
        ? `; the handler modules export: ${listed(exports)}`
        : '; no handler modules were loaded'
    }`,
  };
}
