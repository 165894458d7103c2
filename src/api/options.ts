/**
 * Options of the HTTP API (createApiServer, the taskerApi plugin, startServer), validated with zod so a
 * mistake names the option at fault. The config-file loader maps its api/auth/health groups onto these.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../parse-or-throw.js';
import type { Tasker } from '../tasker.js';

/** Who made a request, as an authenticator establishes it. */
export interface Principal {
  /** Subject (user or service id). */
  readonly id: string;
  /** Permissions `tasker.<resource>:<action>` granted (used unless `authorize` is given). */
  readonly permissions?: readonly string[];
  /** Verified claims or anything else the authenticator wants `authorize` to see. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * A custom authenticator: returns the principal, or null when the request carries no credentials (401
 * "authentication required"); throws an `AuthenticationError` for bad credentials.
 */
export type Authenticator = (request: FastifyRequest, token: string | null) => Promise<Principal | null>;

/** Registers more routes on the API's Fastify context (paths relative to the API prefix). */
export type ExtraRoutes = (app: FastifyInstance) => void | Promise<void>;

/** Decides whether a principal may do `permission` (e.g. `tasker.task:create`). */
export type Authorizer = (principal: Principal, permission: string) => boolean | Promise<boolean>;

const fn = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'function', { message: `expected a function (${what})` });

const jwtSchema = z
  .object({
    /** HS256 shared secret, at least 32 bytes. */
    secret: z
      .string()
      .refine((s) => Buffer.byteLength(s, 'utf8') >= 32, 'the HS256 secret must be at least 32 bytes long')
      .optional(),
    /** JWKS URL for RS256/ES256 keys. */
    jwksUrl: z.url().optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** Claim holding the permissions: an array of strings or a space-separated string. */
    permissionsClaim: z.string().min(1).default('permissions'),
    /** Allowed clock skew in seconds. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
  })
  .strict()
  .refine((j) => (j.secret === undefined) !== (j.jwksUrl === undefined), {
    message: 'give exactly one of secret (HS256) or jwksUrl (RS256/ES256)',
  });

/** GraphQL's limits are checked before anything runs: a refused query costs its parsing only. */
const GRAPHQL_DEFAULTS = {
  enabled: true,
  maxLimit: 100,
  maxDepth: 8,
  maxAliases: 15,
  maxComplexity: 5000,
} as const;

const graphqlOptionsSchema = z
  .object({
    enabled: z.boolean().default(GRAPHQL_DEFAULTS.enabled),
    /** Most items one list field may ask for (`tasks(limit:)`); also the size assumed for its cost. */
    maxLimit: z.number().int().min(1).max(500).default(GRAPHQL_DEFAULTS.maxLimit),
    /** Deepest selection nesting (`{ tasks { items { steps { transitions { toState } } } } }` is 5). */
    maxDepth: z.number().int().min(2).max(50).default(GRAPHQL_DEFAULTS.maxDepth),
    /** Most aliases in one request (each alias is one more resolver run). */
    maxAliases: z.number().int().min(0).max(1000).default(GRAPHQL_DEFAULTS.maxAliases),
    /**
     * Highest estimated cost: every field costs 1, times the items its list parents may return (the
     * `limit` asked for, or the default page of 50, for tasks; 50 for a task's steps and transitions).
     */
    maxComplexity: z.number().int().min(10).max(1_000_000).default(GRAPHQL_DEFAULTS.maxComplexity),
  })
  .strict();

export const authOptionsSchema = z
  .object({
    enabled: z.boolean().default(false),
    jwt: jwtSchema.optional(),
    /** A custom authenticator; replaces the JWT one. */
    authenticate: fn<Authenticator>('authenticate').optional(),
    /** A custom permission check; replaces the token's permissions claim. */
    authorize: fn<Authorizer>('authorize').optional(),
    /** /health/status needs authentication and tasker.health_status:index. */
    statusRequiresAuth: z.boolean().default(true),
  })
  .strict()
  .refine((a) => !a.enabled || a.jwt !== undefined || a.authenticate !== undefined, {
    message: 'auth is enabled: configure jwt (secret or jwksUrl) or an authenticate function',
  });

export const apiOptionsSchema = z
  .object({
    tasker: z.custom<Tasker>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Tasker).createTask === 'function',
      { message: 'expected a Tasker instance (createTasker())' },
    ),
    /** Path prefix of every route. */
    prefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'expected "" or a path such as /tasker')
      .default('/tasker'),
    /** Largest request body accepted, in bytes (413 beyond). */
    bodyLimit: z
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(1024 * 1024),
    /** Header carrying the correlation id (accepted and returned). */
    correlationIdHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/)
      .default('X-Correlation-ID'),
    auth: authOptionsSchema.default({ enabled: false, statusRequiresAuth: true }),
    health: z
      .object({
        /** Time allowed for the readiness database check. */
        readinessTimeoutMs: z.number().int().min(10).max(60_000).default(5000),
        /** Readiness fails while no task template is registered. */
        requireTemplates: z.boolean().default(true),
      })
      .strict()
      .default({ readinessTimeoutMs: 5000, requireTemplates: true }),
    /** OpenAPI document and Swagger UI. */
    docs: z.boolean().default(true),
    /**
     * With auth on, /openapi.json, /api-docs and /graphiql answer without a token (browsers cannot send
     * one when opening a page). Off: they need an authenticated caller, like every other route.
     */
    publicDocs: z.boolean().default(false),
    /** Longest URL accepted (path and query), in characters; 414 beyond. */
    maxUrlLength: z.number().int().min(256).max(65_536).default(8192),
    graphql: graphqlOptionsSchema.default(GRAPHQL_DEFAULTS),
    /** Directory of the built dashboard (served at <prefix>/ui/ when it holds index.html). */
    uiDir: z.string().min(1).optional(),
    /**
     * More routes mounted inside the API (under its prefix, with its error handling, correlation ids and
     * access control). The metrics and analytics routes are built in. With auth on, routes under /metrics need
     * tasker.metrics:index, under /analytics tasker.analytics:index; any other route needs the permission
     * in its `config.permission`, or else an authenticated caller.
     */
    routes: z.array(fn<ExtraRoutes>('routes entry')).default([]),
    /** Heartbeat comment interval of server-sent event streams. */
    sseHeartbeatMs: z.number().int().min(100).max(120_000).default(15_000),
  })
  .strict();

export type ApiOptions = z.input<typeof apiOptionsSchema>;
export type ResolvedApiOptions = z.output<typeof apiOptionsSchema>;

export const serverOptionsSchema = z
  .object({
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().min(1).default('127.0.0.1'),
    /** Fastify logger: false (default), true or pino options. */
    logger: z.union([z.boolean(), z.record(z.string(), z.unknown())]).default(false),
  })
  .loose();

export function resolveApiOptions(options: ApiOptions): ResolvedApiOptions {
  return parseOrThrow(apiOptionsSchema, options, 'API options', 'TASKER_INVALID_CONFIG');
}
