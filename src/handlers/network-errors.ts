/**
 * What went wrong below HTTP when `fetch` fails. Node's fetch (undici) rejects with a bare "fetch failed"
 * TypeError whose `cause` holds the real error (ECONNREFUSED, ENOTFOUND, a certificate problem, ...),
 * sometimes nested again; an operator needs that cause, not "fetch failed". Pure: no I/O.
 */

export type NetworkFailureCode =
  | 'HTTP_CONNECTION_REFUSED'
  | 'HTTP_DNS'
  | 'HTTP_TLS'
  | 'HTTP_CONNECTION_RESET'
  | 'HTTP_CONNECT_TIMEOUT'
  | 'HTTP_NETWORK';

export interface NetworkFailure {
  /** Our code for the step error (stored, shown, counted). */
  readonly code: NetworkFailureCode;
  /** The system's code (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, ...), when there is one. */
  readonly causeCode: string | undefined;
  /** Human words for the message: "connection refused (ECONNREFUSED 127.0.0.1:9)". */
  readonly detail: string;
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ENETUNREACH', 'EHOSTUNREACH']);

function isTls(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  );
}

/** The innermost error of a `cause` chain that carries a code (or the innermost error). */
function rootCause(error: unknown): { code: string | undefined; message: string; extra: string } {
  let current: unknown = error;
  let found: { code: string | undefined; message: string; extra: string } = {
    code: undefined,
    message: error instanceof Error ? error.message : String(error),
    extra: '',
  };
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    const e = current as Error & { code?: unknown; hostname?: unknown; address?: unknown; port?: unknown };
    if (typeof e.code === 'string') {
      const where =
        typeof e.hostname === 'string'
          ? ` ${e.hostname}`
          : typeof e.address === 'string'
            ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}`
            : '';
      found = { code: e.code, message: e.message, extra: where };
    } else if (found.code === undefined) {
      found = { ...found, message: e.message };
    }
    // AggregateError (several addresses tried): the first one says what happened.
    const inner = e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : e.cause;
    current = inner;
  }
  return found;
}

/** Classifies a rejected fetch. */
export function describeNetworkFailure(error: unknown): NetworkFailure {
  const { code, message, extra } = rootCause(error);
  const tag = code ? ` (${code}${extra})` : '';
  if (code === 'ECONNREFUSED') {
    return { code: 'HTTP_CONNECTION_REFUSED', causeCode: code, detail: `connection refused${tag}` };
  }
  if (code && DNS.has(code)) {
    return { code: 'HTTP_DNS', causeCode: code, detail: `host name not resolved${tag}` };
  }
  if (code && isTls(code)) {
    return { code: 'HTTP_TLS', causeCode: code, detail: `TLS failed: ${message}${tag}` };
  }
  if (code && RESET.has(code)) {
    return { code: 'HTTP_CONNECTION_RESET', causeCode: code, detail: `connection closed: ${message}${tag}` };
  }
  if (code && TIMEOUT.has(code)) {
    return { code: 'HTTP_CONNECT_TIMEOUT', causeCode: code, detail: `could not connect: ${message}${tag}` };
  }
  return { code: 'HTTP_NETWORK', causeCode: code, detail: `${message}${tag}` };
}
