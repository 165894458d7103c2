/**
 * Resolution hints: what to do about a group of failures, from documented rules over the failure's
 * category, its sample error and what it affects (docs/diagnostics.md lists them). Rules are tried in
 * order, the first that matches gives the hint; rules a user registers come before the built-in ones,
 * so they can refine or replace them. Pure.
 */
import type { ErrorCategory, ErrorFacts } from './classify.js';
import { classifyError, httpStatus } from './classify.js';
import { topFrame } from './fingerprint.js';

/** What a hint rule sees of a group of failures. */
export interface FailureFacts {
  readonly category: ErrorCategory;
  readonly sample: ErrorFacts;
  /** Steps in the group, and the tasks they belong to. */
  readonly steps: number;
  readonly tasks: number;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
  readonly affected: ReadonlyArray<{ namespace: string; name: string; version: string; step: string }>;
  /** The failing step's configured timeout (ms) and dependent system, when its template is registered. */
  readonly timeoutMs?: number | null;
  readonly dependentSystem?: string | null;
  /** Steps failing with the same fingerprint right now, waiting for their next attempt. */
  readonly retryingNow?: number;
  /** The failing step's successful attempts over the last day: 95th percentile duration, ms. */
  readonly p95DurationMs?: number | null;
}

export interface HintRule {
  /** Shown with the hint, so a person knows which rule spoke. */
  readonly name: string;
  matches(failure: FailureFacts): boolean;
  hint(failure: FailureFacts): string;
}

/** The host (and port) of the URL the error names, if any. */
function target(failure: FailureFacts): string | null {
  const url = failure.sample.context?.url;
  if (typeof url === 'string') {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  }
  return failure.dependentSystem && failure.dependentSystem !== 'default' ? failure.dependentSystem : null;
}

const where = (f: FailureFacts) => target(f) ?? 'the system the step calls';
const many = (f: FailureFacts) =>
  (f.steps > 1
    ? ` ${f.steps} step(s) of ${f.tasks} task(s) failed this way since ${f.firstSeen.toISOString()}.`
    : '') +
  (f.retryingNow ? ` ${f.retryingNow} more step(s) are failing with it right now, waiting to retry.` : '');
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const category =
  (c: ErrorCategory) =>
  (f: FailureFacts): boolean =>
    f.category === c;

export const BUILTIN_HINT_RULES: readonly HintRule[] = [
  {
    name: 'timeout',
    matches: category('timeout'),
    hint: (f) => {
      const timing =
        f.p95DurationMs != null && f.timeoutMs
          ? ` (its successful attempts took ${seconds(f.p95DurationMs)} at the 95th percentile over the last day; the timeout is ${seconds(f.timeoutMs)})`
          : f.timeoutMs
            ? ` (the step's timeout is ${f.timeoutMs} ms)`
            : '';
      const advice =
        f.p95DurationMs != null && f.timeoutMs && f.p95DurationMs > f.timeoutMs * 0.8
          ? 'The timeout is close to what the work usually takes: raise timeout_ms.'
          : "Raise the step's timeout_ms if the work is legitimately long, or look at that system's latency.";
      return `Timed out${timing}: ${where(f)} answered too slowly. ${advice}${many(f)}`;
    },
  },
  {
    name: 'connection_refused',
    matches: category('connection_refused'),
    hint: (f) =>
      `Nothing accepts connections at ${where(f)}: is it running, and is the address in the template or context right?` +
      many(f) +
      ' When it is back, `tasker retry TASK_ID` runs the failed steps again.',
  },
  {
    name: 'connection_reset',
    matches: category('connection_reset'),
    hint: (f) =>
      `${where(f)} closed the connection mid-request (a restart, a proxy timeout or an overload).${many(f)} Usually transient: retry the tasks.`,
  },
  {
    name: 'dns',
    matches: category('dns'),
    hint: (f) =>
      `The host name of ${where(f)} does not resolve: check the URL in the template or the context (a typo, or a name only resolvable elsewhere).`,
  },
  {
    name: 'tls',
    matches: category('tls'),
    hint: (f) =>
      `TLS with ${where(f)} failed (an expired, self-signed or mismatched certificate): fix the certificate or the URL.`,
  },
  {
    name: 'rate_limited',
    matches: category('rate_limited'),
    hint: (f) =>
      `${where(f)} answered 429 Too Many Requests: the steps call it faster than it allows. Lower the concurrency of the workers serving ${f.affected[0]?.namespace ?? 'this namespace'}, or spread the tasks out (delayed tasks).${many(f)}`,
  },
  {
    name: 'http_4xx',
    matches: category('http_4xx'),
    hint: (f) =>
      `${where(f)} refused the request with ${httpStatus(f.sample) ?? '4xx'}: the request is wrong for that system (the context's values, or the URL and headers in the template). Retrying the same request will not help; fix the input, then retry.`,
  },
  {
    name: 'http_5xx',
    matches: category('http_5xx'),
    hint: (f) =>
      `${where(f)} failed on its side (${httpStatus(f.sample) ?? '5xx'}) through every attempt.${many(f)} When it is healthy again, \`tasker retry TASK_ID\` runs the failed steps again.`,
  },
  {
    name: 'validation',
    matches: category('validation'),
    hint: (f) =>
      `A value did not validate: ${f.sample.message}. Fix the input (the task's context or a parent's result), then retry.`,
  },
  {
    name: 'handler_bug',
    matches: category('handler_bug'),
    hint: (f) => {
      const frame = topFrame(f.sample.stack);
      return `A bug in the handler${frame ? ` at ${frame}` : ''}: ${f.sample.class}: ${f.sample.message}. Fix the code and deploy it, then \`tasker retry\` the tasks.`;
    },
  },
  {
    name: 'lease_expired',
    matches: category('lease_expired'),
    hint: (f) =>
      `The worker running the step stopped sending heartbeats (it crashed, was killed, or lost the database) and the step ran out of attempts.${many(f)} Look at worker restarts and memory limits.`,
  },
  {
    name: 'permanent',
    matches: category('permanent'),
    hint: (f) =>
      `The handler refused the work for good${f.sample.code ? ` (${f.sample.code})` : ''}: ${f.sample.message}. Retrying will not change the answer unless the input changes; resolve or cancel the tasks.`,
  },
  {
    name: 'fallback',
    matches: () => true,
    hint: (f) =>
      `${f.sample.class}: ${f.sample.message}. No rule recognises this error: its stack, in the sample, shows where it came from.${many(f)}`,
  },
];

export function hintFor(
  failure: FailureFacts,
  rules: readonly HintRule[] = BUILTIN_HINT_RULES,
): { rule: string; text: string } {
  for (const rule of rules) {
    if (rule.matches(failure)) return { rule: rule.name, text: rule.hint(failure) };
  }
  return { rule: 'none', text: '' };
}

/** The category of a recorded error: the stored one, else classified now (errors made by the database). */
export function categoryOf(error: ErrorFacts & { category?: string }): ErrorCategory {
  return (error.category as ErrorCategory | undefined) ?? classifyError(error);
}

/** Minimum tries at an attempt number before the retry statistics speak. */
const MIN_TRIES = 20;
/** Below this success rate an attempt "practically never succeeds". */
const HOPELESS = 0.02;

/**
 * The seeds' predictive retry, kept descriptive: when, for the steps that failed with this error, every
 * attempt from some number on practically never succeeded (under 2 % of at least 20 tries each), say so
 * and what a lower retry limit would save. It suggests; it changes nothing. Empty when the statistics
 * say nothing (too few tries, or later attempts do succeed).
 */
export function retryAdvice(
  stats: ReadonlyArray<{ attempt: number; reached: number; succeeded: number }>,
  options: { days: number; retryLimit?: number | null },
): string {
  let from: number | null = null;
  for (let i = stats.length - 1; i >= 0; i--) {
    const s = stats[i]!;
    if (s.reached < MIN_TRIES || s.succeeded / s.reached >= HOPELESS) break;
    from = s.attempt;
  }
  if (from === null) return '';
  const later = stats.filter((s) => s.attempt >= from);
  const tries = later.reduce((sum, s) => sum + s.reached, 0);
  const won = later.reduce((sum, s) => sum + s.succeeded, 0);
  const limit = options.retryLimit ? ` (it is ${options.retryLimit} now)` : '';
  return (
    ` Over the last ${options.days} days, attempts from the ${ordinal(from)} on succeeded in ${won} of ${tries} tries ` +
    `after this error: a retry limit of ${from - 1}${limit} would save ${tries - won} attempts, or a longer backoff may give the other side time to recover.`
  );
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
