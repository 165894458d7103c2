/**
 * Environment variables that override the config file. Pure: takes an env object, returns a partial
 * config plus the problems found (a number that is not a number, a boolean that is not one) and, for
 * each config path set from the environment, the variable it came from (so zod's problems can name it).
 */
import type { Problem } from '../errors.js';

type Kind = 'string' | 'int' | 'bool';

/** [variable, config path, kind]; earlier variables win when several name the same path. */
export const ENV_VARIABLES: ReadonlyArray<readonly [string, string, Kind]> = [
  ['TASKER_DATABASE_URL', 'database.url', 'string'],
  ['DATABASE_URL', 'database.url', 'string'],
  ['TASKER_DATA_DIR', 'database.dataDir', 'string'],
  ['TASKER_DATABASE_LISTEN_URL', 'database.listenUrl', 'string'],
  ['TASKER_DATABASE_SCHEMA', 'database.schema', 'string'],
  ['TASKER_DATABASE_MAX_CONNECTIONS', 'database.maxConnections', 'int'],
  ['TASKER_DATABASE_MIGRATE', 'database.migrate', 'bool'],
  ['TASKER_DATABASE_CONNECT_TIMEOUT_MS', 'database.connectTimeoutMs', 'int'],
  ['TASKER_CONCURRENCY', 'execution.concurrency', 'int'],
  ['TASKER_PREFETCH', 'execution.prefetch', 'int'],
  ['TASKER_LEASE_MS', 'execution.leaseMs', 'int'],
  ['TASKER_HEARTBEAT_INTERVAL_MS', 'execution.heartbeatIntervalMs', 'int'],
  ['TASKER_POLL_INTERVAL_MS', 'execution.pollIntervalMs', 'int'],
  ['TASKER_SHUTDOWN_TIMEOUT_MS', 'execution.shutdownTimeoutMs', 'int'],
  ['TASKER_IDENTITY_STRATEGY', 'identity.strategy', 'string'],
  ['TASKER_TELEMETRY_ENABLED', 'telemetry.enabled', 'bool'],
  ['TASKER_LOG_LEVEL', 'telemetry.logLevel', 'string'],
  ['TASKER_LOG_PRETTY', 'telemetry.pretty', 'bool'],
  ['TASKER_SERVICE_NAME', 'telemetry.serviceName', 'string'],
  ['OTEL_SERVICE_NAME', 'telemetry.serviceName', 'string'],
  ['TASKER_OTLP_ENDPOINT', 'telemetry.otlpEndpoint', 'string'],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'telemetry.otlpEndpoint', 'string'],
  ['TASKER_AUTH_ENABLED', 'auth.enabled', 'bool'],
  ['TASKER_JWT_SECRET', 'auth.jwt.secret', 'string'],
  ['TASKER_JWT_JWKS_URL', 'auth.jwt.jwksUrl', 'string'],
  ['TASKER_JWT_ISSUER', 'auth.jwt.issuer', 'string'],
  ['TASKER_JWT_AUDIENCE', 'auth.jwt.audience', 'string'],
  ['TASKER_PERMISSIONS_CLAIM', 'auth.permissionsClaim', 'string'],
  ['TASKER_HEALTH_READY_TIMEOUT_MS', 'health.readyTimeoutMs', 'int'],
  ['TASKER_HEALTH_STATUS_REQUIRES_AUTH', 'health.statusRequiresAuth', 'bool'],
  ['TASKER_API_PORT', 'api.port', 'int'],
  ['PORT', 'api.port', 'int'],
  ['TASKER_API_HOST', 'api.host', 'string'],
  ['TASKER_API_PREFIX', 'api.prefix', 'string'],
  ['TASKER_API_BODY_LIMIT', 'api.bodyLimit', 'int'],
  ['TASKER_API_PUBLIC_DOCS', 'api.publicDocs', 'bool'],
  ['TASKER_TEMPLATES_DIR', 'workflows.templatesDir', 'string'],
  ['TASKER_HANDLERS_DIR', 'workflows.handlersDir', 'string'],
  ['TASKER_ENV', 'workflows.environment', 'string'],
];

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export interface EnvConfig {
  readonly values: Record<string, unknown>;
  readonly problems: Problem[];
  /** Config path -> the variable that set it. */
  readonly sources: Map<string, string>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  node[keys[keys.length - 1]!] = value;
}

/** Reads the TASKER_* (and DATABASE_URL-style) variables that are set and not empty. */
export function configFromEnv(env: NodeJS.ProcessEnv): EnvConfig {
  const values: Record<string, unknown> = {};
  const problems: Problem[] = [];
  const sources = new Map<string, string>();
  for (const [name, path, kind] of ENV_VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '' || sources.has(path)) continue;
    const text = raw.trim();
    let value: unknown = text;
    if (kind === 'int') {
      value = /^-?\d+$/.test(text) ? Number(text) : undefined;
      if (value === undefined) {
        problems.push({ path: `env ${name}`, message: `expected a whole number, got "${raw}"` });
        continue;
      }
    } else if (kind === 'bool') {
      const lower = text.toLowerCase();
      value = TRUE.has(lower) ? true : FALSE.has(lower) ? false : undefined;
      if (value === undefined) {
        problems.push({ path: `env ${name}`, message: `expected true or false (or 1/0), got "${raw}"` });
        continue;
      }
    }
    setPath(values, path, value);
    sources.set(path, name);
  }
  return { values, problems, sources };
}

/** The keys that together say where the database is: a file's are replaced whole by the environment's. */
const LOCATION_KEYS = ['url', 'dataDir', 'inMemory'] as const;

/**
 * Merges the environment over a config file: every variable wins over the file's value, and a database
 * location from the environment (DATABASE_URL, TASKER_DATABASE_URL or TASKER_DATA_DIR) replaces the
 * file's location whole, so `DATABASE_URL=... tasker serve` in a project whose file sets `dataDir` runs
 * on PostgreSQL (and TASKER_DATA_DIR beats a file's `url`).
 */
export function mergeEnvOverFile(fromFile: Record<string, unknown>, fromEnv: EnvConfig): unknown {
  const envDatabase = fromEnv.values.database;
  const fileDatabase = fromFile.database;
  let file = fromFile;
  if (
    isPlainObject(envDatabase) &&
    isPlainObject(fileDatabase) &&
    LOCATION_KEYS.some((key) => envDatabase[key] !== undefined)
  ) {
    const kept = Object.fromEntries(
      Object.entries(fileDatabase).filter(([key]) => !(LOCATION_KEYS as readonly string[]).includes(key)),
    );
    file = { ...fromFile, database: kept };
  }
  return deepMerge(file, fromEnv.values);
}

/** Merges plain objects (override wins); arrays and other values are replaced, not merged. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
