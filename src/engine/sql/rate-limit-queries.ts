/** Rate limits (migration 19): defining buckets, reporting a 429, reading their state. */
import type { SqlContext } from './sql-context.js';

export interface RateLimitRow {
  readonly name: string;
  readonly rate: number;
  readonly burst: number;
  /** Tokens available now (negative: reserved ahead by deferred steps). */
  readonly tokens: number;
  /** The rate after 429s (rate while none was reported in the last minute). */
  readonly effective_rate: number;
  readonly deferred_total: string;
  readonly limited_total: string;
}

export async function defineRateLimit(
  sql: SqlContext,
  name: string,
  rate: number,
  burst: number,
): Promise<void> {
  await sql.db.query(`SELECT ${sql.schema}.define_rate_limit($1, $2, $3)`, [name, rate, burst]);
}

export async function reportRateLimited(
  sql: SqlContext,
  names: readonly string[],
  retryAfterMs: number | null,
): Promise<void> {
  await sql.db.query(`SELECT ${sql.schema}.report_rate_limited($1, $2)`, [names, retryAfterMs]);
}

export async function listRateLimits(sql: SqlContext): Promise<RateLimitRow[]> {
  const { rows } = await sql.db.query<RateLimitRow>(
    `SELECT r.name, r.rate, r.burst,
       least(r.burst, r.tokens + extract(epoch FROM now() - r.tokens_at)::double precision
         * ${sql.schema}._effective_rate(r.rate, r.slow_factor, r.slowed_at)) AS tokens,
       ${sql.schema}._effective_rate(r.rate, r.slow_factor, r.slowed_at) AS effective_rate, r.deferred_total, r.limited_total
     FROM ${sql.schema}.rate_limits r ORDER BY r.name`,
  );
  return rows;
}
