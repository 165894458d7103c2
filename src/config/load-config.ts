/**
 * `loadConfig`: one typed, validated configuration from a config file (tasker.config.ts, .mts, .js, .mjs,
 * .json, .yaml or .yml) and environment variables (which win over the file). Every problem, in the file
 * and in the environment, is reported at once in one TASKER_INVALID_CONFIG error. With no file and no
 * variables the defaults run on the embedded database in ./.tasker.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ScheduleSpec } from '../engine/schedules.js';
import { formatProblems, type Problem, TaskerError } from '../errors.js';
import { zodProblems } from '../parse-or-throw.js';
import { createOtlpTracerProvider } from '../telemetry/otlp.js';
import { type LOG_LEVELS, taskerConfigSchema } from './config-schema.js';
import { configFromEnv, isPlainObject, mergeEnvOverFile } from './env-config.js';
import { importModule } from './import-module.js';
import { type ResolvedConfig, resolveConfig, type TaskerOptions } from './options.js';

export const CONFIG_FILE_NAMES = [
  'tasker.config.ts',
  'tasker.config.mts',
  'tasker.config.js',
  'tasker.config.mjs',
  'tasker.config.json',
  'tasker.config.yaml',
  'tasker.config.yml',
] as const;

export interface LoadConfigOptions {
  /** Where to look for a config file and what relative paths are relative to. @defaultValue process.cwd() */
  readonly cwd?: string;
  /** A config file to use instead of searching (relative to cwd). @defaultValue env TASKER_CONFIG */
  readonly file?: string;
  /** @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The whole validated configuration, defaults filled in. */
export interface LoadedConfig extends ResolvedConfig {
  /** The config file read (absolute), or null when none was found. */
  readonly file: string | null;
  readonly telemetry: {
    readonly enabled: boolean;
    readonly logLevel: (typeof LOG_LEVELS)[number];
    /** Null: human-readable on a terminal, JSON lines otherwise. */
    readonly pretty: boolean | null;
    readonly serviceName: string;
    readonly otlpEndpoint: string | null;
  };
  readonly auth: {
    readonly enabled: boolean;
    readonly jwt: {
      readonly secret: string | null;
      readonly jwksUrl: string | null;
      readonly issuer: string | null;
      readonly audience: string | null;
    };
    readonly permissionsClaim: string;
  };
  readonly health: { readonly readyTimeoutMs: number; readonly statusRequiresAuth: boolean };
  readonly api: {
    readonly port: number;
    readonly host: string;
    readonly prefix: string;
    readonly bodyLimit: number;
    readonly publicDocs: boolean;
    readonly requestTimeoutMs: number;
    readonly maxHeaderSize: number;
    readonly graphql: {
      readonly maxDepth: number;
      readonly maxAliases: number;
      readonly maxComplexity: number;
      readonly maxLimit: number;
    };
  };
  readonly workflows: {
    /** Absolute path. */
    readonly templatesDir: string;
    /** Absolute path, or null. */
    readonly handlersDir: string | null;
    readonly environment: string;
  };
  /** Schedules declared here; `tasker worker` and `tasker serve` reconcile them on start. */
  readonly schedules: readonly ScheduleSpec[];
  /** The engine options to pass to `createTasker` (every value explicit). */
  readonly taskerOptions: TaskerOptions;
}

function invalid(problems: readonly Problem[]): TaskerError {
  return new TaskerError(
    'TASKER_INVALID_CONFIG',
    `invalid Tasker configuration:\n${formatProblems(problems)}`,
    {
      details: problems,
    },
  );
}

function findConfigFile(cwd: string, problems: Problem[]): string | null {
  const found = CONFIG_FILE_NAMES.map((n) => join(cwd, n)).filter((p) => existsSync(p));
  if (found.length > 1) {
    problems.push({
      path: cwd,
      message: `found several config files (${found.map((f) => f.slice(cwd.length + 1)).join(', ')}); keep one`,
    });
  }
  return found[0] ?? null;
}

/** Reads a config file into a plain value; problems are pushed, not thrown. */
async function readConfigFile(file: string, problems: Problem[]): Promise<unknown> {
  const ext = extname(file);
  try {
    if (ext === '.json') return JSON.parse(readFileSync(file, 'utf8'));
    if (ext === '.yaml' || ext === '.yml') return parseYaml(readFileSync(file, 'utf8')) ?? {};
    if (['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(ext)) {
      const module = await importModule(file);
      const exported = 'default' in module ? module.default : module;
      return exported ?? {};
    }
    problems.push({ path: file, message: 'expected a .ts, .mts, .js, .mjs, .json, .yaml or .yml file' });
  } catch (error) {
    problems.push({ path: file, message: `cannot be read: ${(error as Error).message}` });
  }
  return {};
}

/**
 * Loads and validates the configuration. Throws TASKER_INVALID_CONFIG listing every problem.
 *
 * @example
 * const config = await loadConfig(); // ./tasker.config.* if present, then TASKER_* and DATABASE_URL
 * const tasker = await createTasker(config.taskerOptions);
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const problems: Problem[] = [];

  const explicit = options.file ?? env.TASKER_CONFIG;
  let file: string | null = null;
  if (explicit) {
    file = isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
    if (!existsSync(file)) {
      problems.push({ path: file, message: 'config file not found' });
      file = null;
    }
  } else {
    file = findConfigFile(cwd, problems);
  }

  let fromFile: unknown = {};
  if (file) {
    fromFile = await readConfigFile(file, problems);
    if (!isPlainObject(fromFile)) {
      problems.push({ path: file, message: 'expected the file to hold (or export) an object' });
      fromFile = {};
    }
  }
  const fromEnv = configFromEnv(env);
  problems.push(...fromEnv.problems);

  const merged = mergeEnvOverFile(fromFile as Record<string, unknown>, fromEnv);
  const parsed = taskerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    for (const problem of zodProblems(parsed.error)) {
      const variable = fromEnv.sources.get(problem.path);
      problems.push({
        path: variable
          ? `${problem.path} (from ${variable})`
          : file
            ? `${problem.path} (in ${file})`
            : problem.path,
        message: problem.message,
      });
    }
  }
  if (problems.length > 0 || !parsed.success) throw invalid(problems);
  const c = parsed.data;

  if (c.auth?.enabled && !c.auth.jwt?.secret && !c.auth.jwt?.jwksUrl) {
    problems.push({
      path: 'auth.jwt',
      message:
        'auth is enabled: expected jwt.secret (TASKER_JWT_SECRET) or jwt.jwksUrl (TASKER_JWT_JWKS_URL)',
    });
  }
  if (c.auth?.jwt?.secret && c.auth.jwt.jwksUrl) {
    problems.push({ path: 'auth.jwt', message: 'expected either secret or jwksUrl, not both' });
  }

  // The engine's groups are resolved by the engine's own function (defaults, DATABASE_URL, the
  // heartbeat/lease rule), so `createTasker(config.taskerOptions)` sees exactly this configuration.
  let engine: ResolvedConfig | null = null;
  try {
    engine = resolveConfig(
      {
        database: c.database,
        execution: c.execution,
        backoff: c.backoff,
        identity: c.identity,
        retention: c.retention,
        rateLimits: c.rateLimits,
      },
      env,
    );
  } catch (error) {
    if (error instanceof TaskerError && error.details) problems.push(...error.details);
    else throw error;
  }
  if (problems.length > 0 || !engine) throw invalid(problems);

  const baseDir = file ? dirname(file) : cwd;
  // A relative data dir is relative to the file that names it; one from TASKER_DATA_DIR to the cwd.
  const dataDirBase = fromEnv.sources.has('database.dataDir') ? cwd : baseDir;
  const dataDir = engine.database.dataDir ? resolve(dataDirBase, engine.database.dataDir) : null;
  const database = { ...engine.database, dataDir };
  const taskerOptions: TaskerOptions = {
    database: {
      ...(database.url ? { url: database.url } : dataDir ? { dataDir } : { inMemory: true }),
      ...(database.listenUrl ? { listenUrl: database.listenUrl } : {}),
      schema: database.schema,
      maxConnections: database.maxConnections,
      migrate: database.migrate,
      connectTimeoutMs: database.connectTimeoutMs,
    },
    execution: { ...engine.execution },
    backoff: { ...engine.backoff, scheduleMs: [...engine.backoff.scheduleMs] },
    identity: { ...engine.identity },
    ...(c.retention ? { retention: c.retention } : {}),
    ...(c.rateLimits ? { rateLimits: c.rateLimits } : {}),
    telemetry: {
      enabled: c.telemetry?.enabled ?? true,
      log: {
        level: c.telemetry?.logLevel ?? 'info',
        ...(c.telemetry?.pretty === undefined ? {} : { pretty: c.telemetry.pretty }),
      },
      ...(c.telemetry?.otlpEndpoint
        ? {
            tracing: {
              tracerProvider: createOtlpTracerProvider({
                endpoint: c.telemetry.otlpEndpoint,
                serviceName: c.telemetry.serviceName ?? 'tasker',
              }),
            },
          }
        : {}),
    },
  };

  return {
    ...engine,
    database,
    file,
    telemetry: {
      enabled: c.telemetry?.enabled ?? true,
      logLevel: c.telemetry?.logLevel ?? 'info',
      pretty: c.telemetry?.pretty ?? null,
      serviceName: c.telemetry?.serviceName ?? 'tasker',
      otlpEndpoint: c.telemetry?.otlpEndpoint ?? null,
    },
    auth: {
      enabled: c.auth?.enabled ?? false,
      jwt: {
        secret: c.auth?.jwt?.secret ?? null,
        jwksUrl: c.auth?.jwt?.jwksUrl ?? null,
        issuer: c.auth?.jwt?.issuer ?? null,
        audience: c.auth?.jwt?.audience ?? null,
      },
      permissionsClaim: c.auth?.permissionsClaim ?? 'permissions',
    },
    health: {
      readyTimeoutMs: c.health?.readyTimeoutMs ?? 5000,
      statusRequiresAuth: c.health?.statusRequiresAuth ?? true,
    },
    api: {
      port: c.api?.port ?? 3000,
      host: c.api?.host ?? '127.0.0.1',
      prefix: c.api?.prefix ?? '/tasker',
      bodyLimit: c.api?.bodyLimit ?? 1_048_576,
      publicDocs: c.api?.publicDocs ?? false,
      requestTimeoutMs: c.api?.requestTimeoutMs ?? 60_000,
      maxHeaderSize: c.api?.maxHeaderSize ?? 16_384,
      graphql: {
        maxDepth: c.api?.graphql?.maxDepth ?? 8,
        maxAliases: c.api?.graphql?.maxAliases ?? 15,
        maxComplexity: c.api?.graphql?.maxComplexity ?? 5000,
        maxLimit: c.api?.graphql?.maxLimit ?? 100,
      },
    },
    workflows: {
      templatesDir: resolve(baseDir, c.workflows?.templatesDir ?? './templates'),
      handlersDir: c.workflows?.handlersDir ? resolve(baseDir, c.workflows.handlersDir) : null,
      environment: c.workflows?.environment ?? env.NODE_ENV ?? 'development',
    },
    schedules: c.schedules ?? [],
    taskerOptions,
  };
}
