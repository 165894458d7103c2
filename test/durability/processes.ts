/**
 * Child worker processes for the durability tests: each runs test/fixtures/crash-worker.mjs against
 * the BUILT package (dist/, produced by `npm run build`, which `npm test` runs first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineTask, type StepHandler, type Tasker } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST_BUILT = existsSync(`${ROOT}dist/index.js`);
const WORKER_SCRIPT = fileURLToPath(new URL('../fixtures/crash-worker.mjs', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** Resolves with the worker's id once it runs. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote so far. */
  output(): string;
  /** SIGKILL if still alive (cleanup). */
  kill(): void;
}

export function startWorkerProcess(env: Record<string, string>, name: string): WorkerProcess {
  const child = spawn(process.execPath, [WORKER_SCRIPT], {
    env: { ...process.env, TASKER_LOG_LEVEL: 'error', ...env, WORKER_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveReady: (id: string) => void;
  let rejectReady: (error: Error) => void;
  const ready = new Promise<string>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const match = /\{"ready":"([^"]+)"\}/.exec(out);
    if (match) resolveReady(match[1]!);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`worker ${name} exited (${code ?? signal}) before it was ready:\n${out}`));
      resolve({ code, signal });
    });
  });
  ready.catch(() => {});
  return {
    child,
    name,
    ready,
    exited,
    output: () => out,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The fixture's templates, with the same structure (handlers are not part of a template's identity). */
export function registerCrashTemplates(tasker: Tasker): void {
  const noop: StepHandler = async () => {
    throw new Error('this process only creates tasks');
  };
  const contextSchema = {
    type: 'object',
    properties: { sleepMs: { type: 'integer' }, hangIn: { type: 'string' }, n: { type: 'integer' } },
  } as const;
  tasker.register(
    defineTask({
      namespace: 'crash',
      name: 'chain',
      version: '1.0.0',
      contextSchema,
      steps: [
        { name: 'a', handler: noop, retryLimit: 5 },
        { name: 'b', dependsOn: ['a'], handler: noop, retryLimit: 5 },
        { name: 'c', dependsOn: ['b'], handler: noop, retryLimit: 5 },
      ],
    }),
  );
  tasker.register(
    defineTask({
      namespace: 'crash',
      name: 'single',
      version: '1.0.0',
      contextSchema,
      steps: [{ name: 'work', handler: noop, retryLimit: 5 }],
    }),
  );
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
