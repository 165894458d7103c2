/**
 * Running the BUILT `tasker` command (dist/cli/main.js, as `npm test` builds it) as a child process, in a
 * temporary project directory, against PGlite (a data directory per test) or PostgreSQL (a schema per test).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { type Backend, PG_URL, uniqueSchema } from '../helpers.js';

export const REPO = join(import.meta.dirname, '../..');
export const CLI = join(REPO, 'dist/cli/main.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The environment without the caller's Tasker settings, so tests see only what they set. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('TASKER_') || key === 'DATABASE_URL' || key === 'PORT' || key === 'NODE_ENV') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1' };
}

/** A temporary project directory holding `files`; `tasker-ts` resolves to this repository. */
export function tempProject(files: Record<string, string> = {}): string {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'tasker-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules/tasker-ts'), 'dir');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Environment variables pointing the CLI at a fresh database of the given backend. */
export function databaseEnv(backend: Backend, project: string): NodeJS.ProcessEnv {
  if (backend === 'pglite') return { TASKER_DATA_DIR: join(project, '.tasker-data') };
  const url = PG_URL;
  if (!url) throw new Error('TASKER_TEST_DATABASE_URL is not set');
  const schema = uniqueSchema('cli');
  cleanups.push(async () => {
    const db = createPostgresDatabase({ connectionString: url, maxConnections: 1 });
    await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await db.close();
  });
  return { DATABASE_URL: url, TASKER_DATABASE_SCHEMA: schema };
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly result: Promise<CliResult>;
  /** Resolves once stderr or stdout contains the text. */
  waitFor(text: string): Promise<void>;
  /** What it wrote so far: stdout, then stderr. */
  output(): string;
}

/**
 * Starts `tasker ...args` in `cwd`. `terminal`: on a real pseudo-terminal (util-linux `script`), as a
 * person at a shell runs it; stdout and stderr then arrive together on stdout.
 */
export function spawnCli(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  options: { terminal?: boolean } = {},
): Spawned {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = options.terminal
    ? spawn('script', ['-qfec', command, '/dev/null'], { cwd, env: { ...baseEnv(), ...env } })
    : spawn(process.execPath, [CLI, ...args], { cwd, env: { ...baseEnv(), ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const check = () => {
    for (const w of waiters.splice(0)) {
      if (stdout.includes(w.text) || stderr.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout.on('data', (d) => {
    stdout += d;
    check();
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    check();
  });
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    result,
    output: () => `${stdout}${stderr}`,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ text, resolve });
        check();
        result.then((r) =>
          reject(new Error(`tasker exited (${r.code}) before printing "${text}":\n${r.stderr}`)),
        );
      }),
  };
}

/** Runs `tasker ...args` to its end. */
export function cli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return spawnCli(args, cwd, env).result;
}

/** Parses stdout as JSON, failing with the whole output when it is not. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
