/**
 * The original Tasker's API step configuration (`handler_config: { type: api, url, params, headers,
 * ssl, enable_exponential_backoff, retry_delay }`, plus `method` and `timeout` as its demo templates
 * write them) read as the built-in `http` handler's configuration. Pure.
 *
 * - `url` placeholders in single braces (`/carts/{cart_id}`), which the original's handler code filled,
 *   are filled from the task context (`{{context.cart_id}}`).
 * - `params` are query parameters; `timeout` and `timeout_seconds` are seconds.
 * - `ssl`, `enable_exponential_backoff` and `retry_delay` tuned the original's HTTP client and its
 *   retries; here retries follow the step's retry settings and the engine's backoff, so they are
 *   accepted and have no effect.
 */
import type { Problem } from '../errors.js';

const IGNORED = new Set(['ssl', 'enable_exponential_backoff', 'retry_delay']);
const KNOWN = new Set([
  'type',
  'url',
  'method',
  'params',
  'headers',
  'body',
  'timeout',
  'timeout_seconds',
  ...IGNORED,
]);

/** True for a handler_config written for the original's API step handler. */
export function isOriginalApiConfig(config: unknown): config is Record<string, unknown> {
  return typeof config === 'object' && config !== null && (config as { type?: unknown }).type === 'api';
}

/** `{name}` (not `{{name}}`) -> `{{context.name}}`. */
function contextPlaceholders(url: string): string {
  return url.replace(/(?<!\{)\{([A-Za-z_][\w.]*)\}(?!\})/g, '{{context.$1}}');
}

/** The http handler's config for an original API config, and the keys that cannot be read. */
export function fromOriginalApiConfig(config: Record<string, unknown>): {
  config: Record<string, unknown>;
  problems: Problem[];
} {
  const out: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const key of Object.keys(config)) {
    if (!KNOWN.has(key)) {
      problems.push({
        path: key,
        message: `unknown key for an api step (type: api); expected one of: ${[...KNOWN].join(', ')}`,
      });
    }
  }
  if (typeof config.url === 'string') out.url = contextPlaceholders(config.url);
  else out.url = config.url;
  for (const key of ['method', 'params', 'headers', 'body'] as const) {
    if (config[key] !== undefined) out[key] = config[key];
  }
  const seconds = config.timeout ?? config.timeout_seconds;
  if (seconds !== undefined) {
    if (typeof seconds === 'number' && seconds > 0 && seconds <= 3600) {
      out.timeoutMs = Math.round(seconds * 1000);
    } else {
      problems.push({
        path: config.timeout !== undefined ? 'timeout' : 'timeout_seconds',
        message: 'expected a number of seconds between 0 and 3600',
      });
    }
  }
  return { config: out, problems };
}
