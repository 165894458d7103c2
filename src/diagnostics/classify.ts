/**
 * What kind of failure an error is, from what the worker recorded of it (class, code, context): the
 * categories an operator acts on differently. Pure; the rules are checked in order and the first that
 * matches decides (docs/diagnostics.md lists them).
 */

export const ERROR_CATEGORIES = [
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns',
  'tls',
  'network',
  'rate_limited',
  'http_4xx',
  'http_5xx',
  'validation',
  'handler_bug',
  'lease_expired',
  'cancelled',
  'permanent',
  'unknown',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** The recorded error, as the worker serialized it (src/worker/run-step.ts). */
export interface ErrorFacts {
  readonly class: string;
  readonly message: string;
  readonly code?: string | undefined;
  readonly stack?: string | undefined;
  readonly context?: Readonly<Record<string, unknown>> | undefined;
}

const HANDLER_BUGS = new Set([
  'TypeError',
  'ReferenceError',
  'SyntaxError',
  'RangeError',
  'ResultsNotSerializableError',
]);
const VALIDATION = new Set(['ValidationError', 'ZodError', 'ValidationFailedError', 'AjvValidationError']);

/** The HTTP status the error carries: its code (HTTP_404) or its context (status: 503). */
export function httpStatus(error: ErrorFacts): number | null {
  const fromCode = /^HTTP_(\d{3})$/.exec(error.code ?? '');
  if (fromCode) return Number(fromCode[1]);
  const status = error.context?.status;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : null;
}

const RULES: ReadonlyArray<readonly [ErrorCategory, (e: ErrorFacts, code: string) => boolean]> = [
  [
    'timeout',
    (e, c) =>
      e.class === 'StepTimeoutError' || ['HTTP_TIMEOUT', 'HTTP_CONNECT_TIMEOUT', 'ETIMEDOUT'].includes(c),
  ],
  ['connection_refused', (_, c) => c === 'HTTP_CONNECTION_REFUSED' || c === 'ECONNREFUSED'],
  [
    'connection_reset',
    (_, c) => ['HTTP_CONNECTION_RESET', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(c),
  ],
  ['dns', (_, c) => ['HTTP_DNS', 'ENOTFOUND', 'EAI_AGAIN'].includes(c)],
  ['tls', (_, c) => c === 'HTTP_TLS' || c.startsWith('ERR_TLS') || c.startsWith('CERT_')],
  ['network', (_, c) => c === 'HTTP_NETWORK'],
  ['rate_limited', (e) => httpStatus(e) === 429],
  ['http_4xx', (e) => (httpStatus(e) ?? 0) >= 400 && (httpStatus(e) ?? 0) < 500],
  ['http_5xx', (e) => (httpStatus(e) ?? 0) >= 500],
  ['validation', (e, c) => VALIDATION.has(e.class) || /(^|_)(INVALID|VALIDATION)(_|$)/.test(c)],
  ['handler_bug', (e) => HANDLER_BUGS.has(e.class)],
  ['lease_expired', (e) => e.class === 'LeaseExpiredError'],
  ['cancelled', (e) => e.class === 'StepAbortedError'],
  ['permanent', (e) => e.class === 'PermanentError'],
];

export function classifyError(error: ErrorFacts): ErrorCategory {
  const code = error.code ?? '';
  for (const [category, matches] of RULES) if (matches(error, code)) return category;
  return 'unknown';
}
