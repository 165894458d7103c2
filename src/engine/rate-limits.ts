/**
 * Named rate limits (docs/flow-control.md#rate-limits): token buckets in the database, shared by every
 * worker. They are declared in the options (`rateLimits`) and written at start; steps name the ones they
 * consume. The claim reserves tokens (migration 19); a step that must wait is deferred to the time its
 * tokens are there, which is not an attempt.
 */
import { z } from 'zod';
import { TaskerError } from '../errors.js';
import { rateLimitNameSchema } from '../model/flow-control.js';
import { defineRateLimit, listRateLimits } from './sql/rate-limit-queries.js';
import type { SqlContext } from './sql/sql-context.js';

const PER_SECONDS = { second: 1, minute: 60, hour: 3600 } as const;

export const rateLimitSpecSchema = z
  .object({
    /** Units per `per`. */
    rate: z.number({ error: 'expected a positive number' }).positive('expected a positive number').max(1e9),
    /** @defaultValue 'second' */
    per: z.enum(['second', 'minute', 'hour'], { error: 'expected "second", "minute" or "hour"' }).optional(),
    /** Units that may be used at once after a quiet period. @defaultValue rate (at least 1) */
    burst: z.number().positive('expected a positive number').max(1e9).optional(),
  })
  .strict();

export const rateLimitsOptionsSchema = z.record(rateLimitNameSchema, rateLimitSpecSchema, {
  error: 'expected an object of rate limits by name, e.g. { stripe: { rate: 100, per: "second" } }',
});
export type RateLimitsOptions = z.input<typeof rateLimitsOptionsSchema>;

export interface ResolvedRateLimit {
  readonly name: string;
  /** Units per second. */
  readonly rate: number;
  readonly burst: number;
}

export function resolveRateLimits(given: RateLimitsOptions | undefined): readonly ResolvedRateLimit[] {
  return Object.entries(given ?? {}).map(([name, spec]) => {
    const perSecond = spec.rate / PER_SECONDS[spec.per ?? 'second'];
    return { name, rate: perSecond, burst: spec.burst ?? Math.max(1, spec.rate) };
  });
}

/**
 * Writes the configured buckets, then checks that every limit the templates name exists (defined here
 * or by another process): a step naming an unknown limit would otherwise run unthrottled.
 */
export async function applyRateLimits(
  sql: SqlContext,
  limits: readonly ResolvedRateLimit[],
  used: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  for (const limit of limits) await defineRateLimit(sql, limit.name, limit.rate, limit.burst);
  if (used.size === 0) return;
  const known = new Set((await listRateLimits(sql)).map((r) => r.name));
  const missing = [...used].filter(([name]) => !known.has(name));
  if (missing.length > 0) {
    const details = missing.map(([name, users]) => ({
      path: `rateLimits.${name}`,
      message: `used by ${users.join(', ')} but not defined: add it to the rateLimits option (or the config file)`,
    }));
    throw new TaskerError(
      'TASKER_INVALID_CONFIG',
      `undefined rate limit${missing.length > 1 ? 's' : ''}: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
      { details },
    );
  }
}
