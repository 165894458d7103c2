/**
 * The built-in HTTP step handler, registered under the name `http`. Configured from a step's handler
 * config (method, url, query, headers, body, timeoutMs), with `{{ ... }}` placeholders filled from the
 * task context, parent results, the task and the step. Secrets come from environment variables:
 * `headers: { Authorization: { env: API_TOKEN, prefix: 'Bearer ' } }`.
 *
 * The original Tasker's `type: api` configuration is read too (original-api-config.ts).
 *
 * Outcomes: 2xx -> results `{ status, body }` (body parsed when JSON); 429 (RateLimitedError: the step's
 * rate limits slow down) and 503 -> retryable, honouring
 * Retry-After (seconds or an HTTP date); 400, 401, 403, 404, 422 -> permanent with code HTTP_<status>;
 * 408, other 5xx and anything else -> retryable; network errors and timeouts -> retryable.
 */

import { z } from 'zod';
import { zodProblems } from '../definitions/define-task.js';
import type { StepContext, StepHandler } from '../definitions/types.js';
import { PermanentError, type Problem, RateLimitedError, RetryableError } from '../errors.js';
import { interpolateString, interpolateUrl, interpolateValue, MissingValueError } from './interpolate.js';
import { describeNetworkFailure } from './network-errors.js';
import { fromOriginalApiConfig, isOriginalApiConfig } from './original-api-config.js';

export const HTTP_HANDLER_NAME = 'http';
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 422]);
const BODY_IN_ERROR_CHARS = 2000;

const headerValue = z.union([
  z.string(),
  z
    .object({
      /** Name of the environment variable holding the value. */
      env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
      /** Put before the value, e.g. "Bearer ". */
      prefix: z.string().optional(),
    })
    .strict(),
]);

export const httpHandlerConfigSchema = z
  .object({
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']))
      .optional(),
    url: z.string({ error: 'expected the URL to call (a string)' }).min(1),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** The original's name for query parameters. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    headers: z.record(z.string(), headerValue).optional(),
    body: z.unknown().optional(),
    timeoutMs: z.number().int().positive().max(3_600_000).optional(),
    timeout_ms: z.number().int().positive().max(3_600_000).optional(),
  })
  .strict();

export type HttpHandlerConfig = z.input<typeof httpHandlerConfigSchema>;

/** Problems with an HTTP step's handler config (used when templates are loaded, to fail early). */
export function httpConfigProblems(config: unknown): Problem[] {
  if (isOriginalApiConfig(config)) {
    // The original's `type: api` form: its own keys, then what they become.
    const mapped = fromOriginalApiConfig(config);
    const parsed = httpHandlerConfigSchema.safeParse(mapped.config);
    return [...mapped.problems, ...(parsed.success ? [] : zodProblems(parsed.error))];
  }
  const parsed = httpHandlerConfigSchema.safeParse(config ?? {});
  return parsed.success ? [] : zodProblems(parsed.error);
}

/**
 * Milliseconds to wait from a Retry-After header: whole seconds, or an HTTP date (a date in the past is
 * 0). Undefined when absent or unreadable (negative seconds included).
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (/^-/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.length === 0) return null;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function truncate(body: unknown): unknown {
  if (typeof body === 'string') return body.slice(0, BODY_IN_ERROR_CHARS);
  const json = JSON.stringify(body);
  return json !== undefined && json.length > BODY_IN_ERROR_CHARS ? json.slice(0, BODY_IN_ERROR_CHARS) : body;
}

export interface HttpHandlerOptions {
  /** Where header secrets are read from. @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Builds the request a step's config describes. Throws PermanentError for a config that cannot work. */
function buildRequest(ctx: StepContext, env: NodeJS.ProcessEnv) {
  const parsed = httpHandlerConfigSchema.safeParse(
    isOriginalApiConfig(ctx.config) ? fromOriginalApiConfig(ctx.config).config : ctx.config,
  );
  if (!parsed.success) {
    const problems = zodProblems(parsed.error)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ');
    throw new PermanentError(`invalid http handler config: ${problems}`, { code: 'HTTP_INVALID_CONFIG' });
  }
  const config = parsed.data;
  const scope = {
    context: ctx.context,
    parents: ctx.parents,
    task: ctx.task,
    step: ctx.step,
    inputs: ctx.inputs,
  };
  try {
    const url = new URL(interpolateUrl(config.url, scope));
    for (const [key, value] of Object.entries({ ...config.params, ...config.query })) {
      url.searchParams.set(key, typeof value === 'string' ? interpolateString(value, scope) : String(value));
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      if (typeof value === 'string') headers.set(name, interpolateString(value, scope));
      else {
        const secret = env[value.env];
        if (secret === undefined || secret === '') {
          throw new PermanentError(
            `header ${name} needs environment variable ${value.env}, which is not set`,
            {
              code: 'HTTP_INVALID_CONFIG',
            },
          );
        }
        headers.set(name, `${value.prefix ?? ''}${secret}`);
      }
    }
    let body: string | undefined;
    if (config.body !== undefined) {
      const filled = interpolateValue(config.body, scope);
      if (typeof filled === 'string') body = filled;
      else {
        body = JSON.stringify(filled);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
    }
    if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5');
    const method = config.method ?? (body === undefined ? 'GET' : 'POST');
    return {
      url,
      method,
      headers,
      body,
      timeoutMs: config.timeoutMs ?? config.timeout_ms ?? DEFAULT_HTTP_TIMEOUT_MS,
    };
  } catch (error) {
    if (error instanceof MissingValueError) {
      throw new PermanentError(`http handler config: ${error.message}`, { code: 'HTTP_MISSING_VALUE' });
    }
    if (error instanceof TypeError) {
      throw new PermanentError(`http handler config: ${error.message}`, { code: 'HTTP_INVALID_CONFIG' });
    }
    throw error;
  }
}

/**
 * Creates the HTTP step handler.
 *
 * @example
 * # in a YAML template
 * - name: fetch_cart
 *   handler: http
 *   handler_config:
 *     url: http://127.0.0.1:4010/carts/{{context.cart_id}}
 *     headers: { Authorization: { env: SHOP_API_TOKEN, prefix: 'Bearer ' } }
 *     timeoutMs: 5000
 */
export function createHttpHandler(options: HttpHandlerOptions = {}): StepHandler<never> {
  const env = options.env ?? process.env;
  const doFetch = options.fetch ?? globalThis.fetch;
  const handler = async (ctx: StepContext) => {
    const request = buildRequest(ctx, env);
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let response: Response;
    let body: unknown;
    const target = `${request.method} ${request.url.origin}${request.url.pathname}`;
    try {
      response = await doFetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal,
      });
      body = await readBody(response);
    } catch (error) {
      // The step's own signal (its timeout, a cancel, a lost lease): let the engine record its reason.
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      if (timeout.aborted) {
        throw new RetryableError(`${target} timed out after ${request.timeoutMs} ms`, {
          cause: error,
          code: 'HTTP_TIMEOUT',
          context: { url: request.url.href, category: 'timeout' },
        });
      }
      const failure = describeNetworkFailure(error);
      throw new RetryableError(`${target} failed: ${failure.detail}`, {
        cause: error,
        code: failure.code,
        context: {
          url: request.url.href,
          category: 'network',
          ...(failure.causeCode ? { causeCode: failure.causeCode } : {}),
        },
      });
    }
    const status = response.status;
    if (status >= 200 && status < 300) return { status, body };
    const context = { status, url: request.url.href, body: truncate(body) };
    if (PERMANENT_STATUSES.has(status)) {
      throw new PermanentError(`${target} answered ${status}`, { code: `HTTP_${status}`, context });
    }
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      // A 429 also slows down the rate limits the step consumes (docs/flow-control.md).
      throw new (status === 429 ? RateLimitedError : RetryableError)(`${target} answered ${status}`, {
        code: `HTTP_${status}`,
        retryAfterMs,
        context,
      });
    }
    throw new RetryableError(`${target} answered ${status}`, { code: `HTTP_${status}`, context });
  };
  return handler as StepHandler<never>;
}
