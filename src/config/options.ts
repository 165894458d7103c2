/**
 * The options of `createTasker`, validated once at start-up and resolved into a complete config.
 * Every problem is reported at once. Environment fallbacks for what the options leave open:
 * TASKER_DATABASE_URL or DATABASE_URL (use PostgreSQL) and TASKER_DATA_DIR (where embedded PGlite keeps
 * its files; default ./.tasker).
 */
import { z } from 'zod';
import { databaseUrlProblem } from '../db/database-url.js';
import { DEFAULT_BACKOFF } from '../engine/backoff.js';
import { type ResolvedRateLimit, rateLimitsOptionsSchema, resolveRateLimits } from '../engine/rate-limits.js';
import {
  type ResolvedRetention,
  resolveRetention,
  retentionOptionsSchema,
} from '../engine/retention-policy.js';
import { formatProblems, TaskerError } from '../errors.js';
import {
  DEFAULT_IDENTITY_STRATEGY,
  IDENTITY_STRATEGY_NAMES,
  type IdentityStrategy,
  normalizeIdentityStrategy,
} from '../model/identity-strategies.js';
import type { Logger } from '../model/logger.js';
import { parseOrThrow } from '../parse-or-throw.js';
import { telemetryOptionsSchema } from '../telemetry/options.js';

const positiveInt = z.number().int().positive();

/** How long start-up waits for PostgreSQL by default (database.connectTimeoutMs). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

export const databaseOptionsSchema = z
  .object({
    /** PostgreSQL connection string. Unset: embedded PGlite. @defaultValue process.env.DATABASE_URL */
    url: z.string().min(1).optional(),
    /**
     * A direct connection URL for LISTEN/NOTIFY only, when `url` goes through a pooler in transaction
     * mode (which cannot carry LISTEN). Unset: notifications use `url` too.
     * @defaultValue process.env.TASKER_DATABASE_LISTEN_URL
     */
    listenUrl: z
      .string()
      .regex(
        /^postgres(ql)?:\/\//,
        'expected a PostgreSQL URL (postgres://user@host:5432/db) of a direct connection',
      )
      .optional(),
    /** Embedded PGlite's data directory. @defaultValue process.env.TASKER_DATA_DIR ?? './.tasker' */
    dataDir: z.string().min(1).optional(),
    /** Keep the embedded database in memory (tests). @defaultValue false */
    inMemory: z.boolean().optional(),
    /** Schema holding Tasker's tables and functions. @defaultValue 'tasker' */
    schema: z.string().optional(),
    /** Pool size (PostgreSQL). @defaultValue 10 */
    maxConnections: positiveInt.max(1000).optional(),
    /** Apply pending migrations at start-up. @defaultValue true */
    migrate: z.boolean().optional(),
    /**
     * How long start-up waits for a PostgreSQL server that is down, starting, full or unreachable (trying
     * again with backoff) before giving up; 0 tries once. @defaultValue 30000
     */
    connectTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
  })
  .strict();

export const executionOptionsSchema = z
  .object({
    /** Steps a worker runs at once. @defaultValue 10 */
    concurrency: positiveInt.max(10_000).optional(),
    /**
     * Steps a worker claims beyond `concurrency`, to start the moment a slot frees instead of a round trip
     * later (docs/operations.md#prefetch). They are leased to the worker while they wait, so another worker
     * cannot take them: keep it 0 for long steps shared among workers. The same room holds the next steps
     * of a concurrency key this worker holds, leased in line (docs/flow-control.md). @defaultValue 0
     */
    prefetch: z.number().int().min(0).max(10_000).optional(),
    /** How long a worker's leases last without a heartbeat. @defaultValue 30000 */
    leaseMs: positiveInt.min(1000).optional(),
    /** How often a worker renews its leases. @defaultValue leaseMs / 3 */
    heartbeatIntervalMs: positiveInt.min(100).optional(),
    /** Fallback poll when no notification arrives. @defaultValue 2000 */
    pollIntervalMs: positiveInt.min(10).optional(),
    /** On stop: how long running steps may take to finish before they are released. @defaultValue 30000 */
    shutdownTimeoutMs: z.number().int().min(0).optional(),
    /** Most step outcomes recorded in one round trip. @defaultValue 500 */
    maxBatchSize: positiveInt.max(10_000).optional(),
  })
  .strict();

export const backoffOptionsSchema = z
  .object({
    scheduleMs: z.array(z.number().int().min(0)).optional(),
    exponent: z.number().positive().optional(),
    maxMs: z.number().int().min(0).optional(),
    jitterRatio: z.number().min(0).max(1).optional(),
  })
  .strict();

export const identityOptionsSchema = z
  .object({
    /**
     * What makes two task requests the same, for templates that do not choose (src/engine/identity.ts):
     * always_unique (every request is new work, unless it carries an idempotency key), caller_provided
     * (an idempotency key is required and decides), strict (the same context is the same task: a
     * duplicate is refused with TASKER_DUPLICATE_TASK), hash (the original Tasker's: identical requests
     * within the same minute return the first task). `unique` is the former name of always_unique.
     * @defaultValue 'always_unique'
     */
    strategy: z.enum(IDENTITY_STRATEGY_NAMES).optional(),
  })
  .strict();

export const taskerOptionsSchema = z
  .object({
    database: databaseOptionsSchema.optional(),
    execution: executionOptionsSchema.optional(),
    backoff: backoffOptionsSchema.optional(),
    identity: identityOptionsSchema.optional(),
    /** How long finished tasks are kept; unset: forever (docs/operations.md#retention). */
    retention: retentionOptionsSchema.optional(),
    /** Named rate limits that steps consume (docs/flow-control.md#rate-limits). */
    rateLimits: rateLimitsOptionsSchema.optional(),
    /** Metrics, tracing, log context and masking (docs/observability.md). */
    telemetry: telemetryOptionsSchema.optional(),
    logger: z
      .custom<Logger>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function',
        {
          message: 'expected a logger with debug/info/warn/error methods (pino works)',
        },
      )
      .optional(),
  })
  .strict();

export type { Logger };

export type TaskerOptions = z.input<typeof taskerOptionsSchema>;

export interface ResolvedConfig {
  readonly database: {
    readonly url: string | null;
    /** Where LISTEN connects (a direct connection beside a transaction pooler); null: `url`. */
    readonly listenUrl: string | null;
    readonly dataDir: string | null;
    readonly schema: string;
    readonly maxConnections: number;
    readonly migrate: boolean;
    readonly connectTimeoutMs: number;
  };
  readonly execution: {
    readonly concurrency: number;
    readonly prefetch: number;
    readonly leaseMs: number;
    readonly heartbeatIntervalMs: number;
    readonly pollIntervalMs: number;
    readonly shutdownTimeoutMs: number;
    readonly maxBatchSize: number;
  };
  readonly backoff: {
    readonly scheduleMs: readonly number[];
    readonly exponent: number;
    readonly maxMs: number;
    readonly jitterRatio: number;
  };
  readonly identity: { readonly strategy: IdentityStrategy };
  readonly retention: ResolvedRetention;
  readonly rateLimits: readonly ResolvedRateLimit[];
}

/** Validates options and fills in defaults. Throws TASKER_INVALID_CONFIG listing every problem. */
export function resolveConfig(options: unknown = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const o = parseOrThrow(taskerOptionsSchema, options ?? {}, 'Tasker configuration', 'TASKER_INVALID_CONFIG');
  const db = o.database ?? {};
  const ex = o.execution ?? {};
  const leaseMs = ex.leaseMs ?? 30_000;
  const heartbeatIntervalMs = ex.heartbeatIntervalMs ?? Math.max(100, Math.floor(leaseMs / 3));
  if (heartbeatIntervalMs * 2 > leaseMs) {
    throw invalidConfig(
      'execution.heartbeatIntervalMs',
      `must be at most half of execution.leaseMs (${leaseMs}), so that one late heartbeat does not lose the lease`,
    );
  }

  // Options given in code win; the environment fills in what they leave open. (loadConfig merges the
  // environment over a config file before this, so there the environment wins.)
  const url =
    db.url ?? (db.inMemory || db.dataDir ? undefined : env.TASKER_DATABASE_URL || env.DATABASE_URL) ?? null;
  const urlProblem = url ? databaseUrlProblem(url) : null;
  if (urlProblem) {
    throw invalidConfig(db.url ? 'database.url' : 'DATABASE_URL', `invalid database URL: ${urlProblem}`);
  }
  const listenUrl = db.listenUrl ?? (env.TASKER_DATABASE_LISTEN_URL || undefined) ?? null;
  if (listenUrl && !url) {
    throw invalidConfig(
      'database.listenUrl',
      'is set (or TASKER_DATABASE_LISTEN_URL) but the database is the embedded PGlite, which needs no separate listening connection: set database.url (DATABASE_URL) too, or unset it',
    );
  }
  return {
    database: {
      url: url || null,
      listenUrl: url ? listenUrl : null,
      dataDir: url ? null : db.inMemory ? null : (db.dataDir ?? env.TASKER_DATA_DIR ?? './.tasker'),
      schema: db.schema ?? 'tasker',
      maxConnections: db.maxConnections ?? 10,
      migrate: db.migrate ?? true,
      connectTimeoutMs: db.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    },
    execution: {
      concurrency: ex.concurrency ?? 10,
      prefetch: ex.prefetch ?? 0,
      leaseMs,
      heartbeatIntervalMs,
      pollIntervalMs: ex.pollIntervalMs ?? 2000,
      shutdownTimeoutMs: ex.shutdownTimeoutMs ?? 30_000,
      maxBatchSize: ex.maxBatchSize ?? 500,
    },
    backoff: { ...DEFAULT_BACKOFF, ...(o.backoff ?? {}) },
    identity: {
      strategy: o.identity?.strategy
        ? normalizeIdentityStrategy(o.identity.strategy)
        : DEFAULT_IDENTITY_STRATEGY,
    },
    retention: resolveRetention(o.retention),
    rateLimits: resolveRateLimits(o.rateLimits),
  };
}

/** A TASKER_INVALID_CONFIG error for one problem found after the schema accepted the options. */
function invalidConfig(path: string, message: string): TaskerError {
  const problem = { path, message };
  return new TaskerError(
    'TASKER_INVALID_CONFIG',
    `invalid Tasker configuration:\n${formatProblems([problem])}`,
    {
      details: [problem],
    },
  );
}
