/**
 * The shape of a Tasker configuration file (tasker.config.ts/.js/.json/.yaml): the engine's option groups
 * (database, execution, backoff, identity; the same zod schemas as `createTasker`'s options) plus the
 * groups of the processes around the engine: telemetry, auth, health, api and workflows.
 */

import { z } from 'zod';
import { rateLimitsOptionsSchema } from '../engine/rate-limits.js';
import { retentionOptionsSchema } from '../engine/retention-policy.js';
import { scheduleSpecSchema } from '../engine/schedules.js';
import {
  backoffOptionsSchema,
  databaseOptionsSchema,
  executionOptionsSchema,
  identityOptionsSchema,
} from './options.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const telemetryConfigSchema = z
  .object({
    /** Master switch of metrics, tracing and log context (false: all off). @defaultValue true */
    enabled: z.boolean().optional(),
    /** @defaultValue 'info' */
    logLevel: z.enum(LOG_LEVELS).optional(),
    /** Human-readable logs instead of JSON lines. @defaultValue on a terminal: true; otherwise false */
    pretty: z.boolean().optional(),
    /** @defaultValue 'tasker' */
    serviceName: z.string().min(1).optional(),
    /** OTLP/HTTP collector for traces, e.g. http://127.0.0.1:4318 (spans go to /v1/traces). Unset: no tracing. */
    otlpEndpoint: z.url({ error: 'expected an absolute URL such as http://127.0.0.1:4318' }).optional(),
  })
  .strict();

export const authConfigSchema = z
  .object({
    /** Require a JWT bearer token on the API. @defaultValue false */
    enabled: z.boolean().optional(),
    jwt: z
      .object({
        /** HS256 shared secret (at least 32 characters). */
        secret: z.string().min(32, 'expected a secret of at least 32 characters').optional(),
        /** JSON Web Key Set URL (RS256/ES256 tokens). */
        jwksUrl: z.url({ error: 'expected an absolute URL' }).optional(),
        issuer: z.string().min(1).optional(),
        audience: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** The claim holding the caller's permissions ("tasker.task:create", ...). @defaultValue 'permissions' */
    permissionsClaim: z.string().min(1).optional(),
  })
  .strict();

export const healthConfigSchema = z
  .object({
    /** How long /health/ready waits for the database. @defaultValue 5000 */
    readyTimeoutMs: z.number().int().positive().max(60_000).optional(),
    /** /health/status needs an authenticated caller (when auth is enabled). @defaultValue true */
    statusRequiresAuth: z.boolean().optional(),
  })
  .strict();

export const apiConfigSchema = z
  .object({
    /** @defaultValue process.env.PORT ?? 3000 */
    port: z.number().int().min(0).max(65_535).optional(),
    /** @defaultValue '127.0.0.1' */
    host: z.string().min(1).optional(),
    /** Path prefix of every route. @defaultValue '/tasker' */
    prefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'expected "" or a path such as /tasker (no trailing slash)')
      .optional(),
    /** Largest request body in bytes. @defaultValue 1048576 */
    bodyLimit: z.number().int().positive().optional(),
    /**
     * With auth enabled, /openapi.json, /api-docs and /graphiql answer without a token (a browser opening
     * them cannot send one). @defaultValue false
     */
    publicDocs: z.boolean().optional(),
    /** Time to receive a whole request, in ms (408 beyond; 0: off). @defaultValue 60000 */
    requestTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Largest request line plus headers, in bytes (431 beyond). @defaultValue 16384 */
    maxHeaderSize: z.number().int().min(1024).max(1_048_576).optional(),
    /** Limits of GraphQL queries, checked before anything runs (docs/api.md). */
    graphql: z
      .object({
        /** Deepest selection nesting. @defaultValue 8 */
        maxDepth: z.number().int().min(2).max(50).optional(),
        /** Most aliases in one request. @defaultValue 15 */
        maxAliases: z.number().int().min(0).max(1000).optional(),
        /** Highest estimated cost (fields times the list sizes above them). @defaultValue 5000 */
        maxComplexity: z.number().int().min(10).max(1_000_000).optional(),
        /** Most items a list may ask for (`tasks(limit:)`). @defaultValue 100 */
        maxLimit: z.number().int().min(1).max(500).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const workflowsConfigSchema = z
  .object({
    /** Directory of YAML task templates, relative to the config file. @defaultValue './templates' */
    templatesDir: z.string().min(1).optional(),
    /** Directory of handler modules whose exported functions become named handlers. */
    handlersDir: z.string().min(1).optional(),
    /** Which `environments.<name>` overrides of the templates apply. @defaultValue TASKER_ENV ?? NODE_ENV ?? 'development' */
    environment: z.string().min(1).optional(),
  })
  .strict();

export const taskerConfigSchema = z
  .object({
    /** Editors: the JSON Schema of this file. */
    $schema: z.string().optional(),
    database: databaseOptionsSchema.optional(),
    execution: executionOptionsSchema.optional(),
    backoff: backoffOptionsSchema.optional(),
    identity: identityOptionsSchema.optional(),
    retention: retentionOptionsSchema.optional(),
    /** Named rate limits that steps consume (docs/flow-control.md#rate-limits). */
    rateLimits: rateLimitsOptionsSchema.optional(),
    telemetry: telemetryConfigSchema.optional(),
    auth: authConfigSchema.optional(),
    health: healthConfigSchema.optional(),
    api: apiConfigSchema.optional(),
    workflows: workflowsConfigSchema.optional(),
    /** Schedules that create tasks on a clock, reconciled by `tasker worker` / `tasker serve` on start. */
    schedules: z.array(scheduleSpecSchema).optional(),
  })
  .strict();

/** What a config file exports (every key optional). */
export type TaskerConfigFile = z.input<typeof taskerConfigSchema>;

/** Type helper for tasker.config.ts: `export default defineConfig({ ... })`. */
export function defineConfig(config: TaskerConfigFile): TaskerConfigFile {
  return config;
}
