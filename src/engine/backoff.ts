/**
 * When a failed step may run again. Pure: the clock and the random source are arguments.
 *
 * The schedule is the original's: 1, 2, 4, 8, 16, 32 s for attempts 1-6, then attempt^exponent seconds
 * (attempt 7 -> 49 s), capped at `maxMs` (300 s). Jitter adds up to `jitterRatio` of the delay, so a
 * burst of failures does not retry in lock step; it never shortens the delay. A retry-after asked for by
 * the handler (RetryableError, HTTP Retry-After) replaces the schedule, capped at `maxMs`.
 */
export interface BackoffPolicy {
  /** Delays for the first attempts, in milliseconds. @defaultValue [1000, 2000, 4000, 8000, 16000, 32000] */
  readonly scheduleMs: readonly number[];
  /** Beyond the schedule: attempt ** exponent seconds. @defaultValue 2 */
  readonly exponent: number;
  /** Upper bound of any delay, retry-after included. @defaultValue 300000 */
  readonly maxMs: number;
  /** Random extra delay, as a fraction of the delay. @defaultValue 0.1 */
  readonly jitterRatio: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  scheduleMs: [1000, 2000, 4000, 8000, 16000, 32000],
  exponent: 2,
  maxMs: 300_000,
  jitterRatio: 0.1,
};

/** The delay before the next attempt, without jitter. `attempt` is the number of attempts made (>= 1). */
export function baseBackoffMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const scheduled = policy.scheduleMs[attempt - 1];
  const delay = scheduled ?? attempt ** policy.exponent * 1000;
  return Math.min(delay, policy.maxMs);
}

/** The delay before the next attempt: the retry-after when one was asked for, else the schedule with jitter. */
export function retryDelayMs(
  attempt: number,
  options: { retryAfterMs?: number | undefined; policy?: BackoffPolicy; random?: () => number } = {},
): number {
  const policy = options.policy ?? DEFAULT_BACKOFF;
  if (options.retryAfterMs !== undefined)
    return Math.min(Math.max(0, Math.round(options.retryAfterMs)), policy.maxMs);
  const base = baseBackoffMs(attempt, policy);
  const jitter = base * policy.jitterRatio * (options.random ?? Math.random)();
  return Math.min(Math.round(base + jitter), policy.maxMs);
}
