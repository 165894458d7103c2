/**
 * What most commands start with: the configuration (file + environment), a Tasker on the configured
 * database, and (for commands that run or create tasks) the task templates and handlers registered.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { type LoadedConfig, loadConfig } from '../config/load-config.js';
import type { Logger } from '../config/options.js';
import { describeDatabase } from '../db/describe-database.js';
import { createTasker, type Tasker } from '../tasker.js';
import { prettyStream } from '../telemetry/logging.js';
import { assertWorkflowsValid, loadWorkflows, registerWorkflows } from '../templates/load-templates.js';
import { CliError, EXIT } from './exit-codes.js';

export interface GlobalOptions {
  /** --config: a config file instead of ./tasker.config.* */
  readonly config?: string;
  /** --connect-timeout: how long to wait for the database at start (ms), over database.connectTimeoutMs. */
  readonly connectTimeout?: string;
  /** --debug: print the stack of any error. */
  readonly debug?: boolean;
}

/** The --connect-timeout option in ms, or undefined when not given. */
export function connectTimeoutOption(options: GlobalOptions): number | undefined {
  return parseIntOption(options.connectTimeout, '--connect-timeout', { min: 0, max: 3_600_000 });
}

export interface Project {
  readonly config: LoadedConfig;
  readonly tasker: Tasker;
  /** What reconciling the configured schedules changed (null when not asked). */
  readonly schedules: { added: string[]; updated: string[]; removed: string[] } | null;
}

/** "schedules: 2 added (a, b), 1 removed (c)", or null when nothing changed. */
export function schedulesLine(changes: Project['schedules']): string | null {
  if (!changes) return null;
  const parts = (['added', 'updated', 'removed'] as const)
    .filter((k) => changes[k].length > 0)
    .map((k) => `${changes[k].length} ${k} (${changes[k].join(', ')})`);
  return parts.length > 0 ? `schedules: ${parts.join(', ')}` : null;
}

/**
 * The CLI's logger, on stderr so stdout stays clean for results and --json: human-readable lines on a
 * terminal, JSON lines otherwise (a log collector, a pipe); `telemetry.pretty` / TASKER_LOG_PRETTY decide
 * when set.
 */
export function cliLogger(config: LoadedConfig, level?: string): Logger {
  const options = { name: config.telemetry.serviceName, level: level ?? config.telemetry.logLevel };
  const pretty = config.telemetry.pretty ?? process.stderr.isTTY === true;
  return pino(options, pretty ? prettyStream(2) : pino.destination(2));
}

export function readConfig(options: GlobalOptions): Promise<LoadedConfig> {
  return loadConfig({ file: options.config });
}

/**
 * Opens the project's Tasker. `workflows: true` loads and registers the templates (every problem reported
 * at once); `migrate: false` leaves the schema as it is (doctor).
 */
export async function openProject(
  options: GlobalOptions,
  open: {
    workflows?: boolean;
    /** Reconcile the configured schedules (worker, serve). */
    schedules?: boolean;
    migrate?: boolean;
    quiet?: boolean;
    config?: LoadedConfig;
  } = {},
): Promise<Project> {
  const connectTimeoutMs = connectTimeoutOption(options);
  const config = open.config ?? (await readConfig(options));
  // Short commands log only warnings unless asked; a worker logs at the configured level (info).
  const quiet = (open.quiet ?? true) && !process.env.TASKER_LOG_LEVEL;
  const logLevel = quiet ? 'warn' : config.telemetry.logLevel;
  const loaded = open.workflows
    ? await loadWorkflows({
        templatesDir: config.workflows.templatesDir,
        handlersDir: config.workflows.handlersDir,
        environment: config.workflows.environment,
      })
    : null;
  if (loaded) assertWorkflowsValid(loaded); // before opening the database: every problem, listed at once
  const tasker = await createTasker({
    ...config.taskerOptions,
    database: {
      ...config.taskerOptions.database,
      ...(open.migrate === false ? { migrate: false } : {}),
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    },
    logger: cliLogger(config, logLevel),
  });
  let schedules: Project['schedules'] = null;
  try {
    if (loaded) registerWorkflows(tasker, loaded);
    if (open.schedules) schedules = await tasker.reconcileSchedules(config.schedules);
  } catch (error) {
    await tasker.close();
    throw error;
  }
  return { config, tasker, schedules };
}

/**
 * The start-up line of the long-running commands (serve, worker, run, doctor): which database this
 * process uses, never its password.
 */
export function databaseLine(tasker: Tasker): string {
  return `database: ${describeDatabase(tasker.config.database, tasker.database.sharing).text}`;
}

/** Runs `fn` with an open project and closes it afterwards, whatever happens. */
export async function withProject<T>(
  options: GlobalOptions,
  open: Parameters<typeof openProject>[1],
  fn: (project: Project) => Promise<T>,
): Promise<T> {
  const project = await openProject(options, open);
  try {
    return await fn(project);
  } finally {
    await project.tasker.close();
  }
}

/** Parses `--context '{"a":1}'` or `--context @file.json` (`@-` reads stdin). */
export function readJsonArgument(value: string | undefined, option: string): unknown {
  if (value === undefined) return undefined;
  let text = value;
  if (value.startsWith('@')) {
    const path = value.slice(1);
    try {
      text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(path), 'utf8');
    } catch (error) {
      throw new CliError(EXIT.USAGE, `${option}: cannot read ${path}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(EXIT.USAGE, `${option}: expected JSON (or @file): ${(error as Error).message}`);
  }
}

/**
 * Parses an integer option (`--concurrency 20`): undefined when not given, a usage error naming the option
 * and the range otherwise.
 */
export function parseIntOption(
  value: string | undefined,
  option: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const { min = 1, max } = range;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || (max !== undefined && n > max) || !Number.isSafeInteger(n)) {
    const expected =
      max === undefined ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
    throw new CliError(EXIT.USAGE, `${option} expects ${expected}, got "${value}"`);
  }
  return n;
}

/** Parses a positive integer id argument. */
export function parseId(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new CliError(EXIT.USAGE, `${what} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

/** Parses NS/NAME[@VERSION]. */
export function parseTaskName(value: string): { namespace: string; name: string; version?: string } {
  const match = /^([^/@\s]+)\/([^/@\s]+)(?:@([^/@\s]+))?$/.exec(value);
  if (!match) {
    throw new CliError(
      EXIT.USAGE,
      `expected NAMESPACE/NAME[@VERSION], such as ecommerce/order_processing@1.0.1; got "${value}"`,
    );
  }
  return { namespace: match[1]!, name: match[2]!, ...(match[3] ? { version: match[3] } : {}) };
}
