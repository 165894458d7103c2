/**
 * A real server for the dashboard's browser tests: a test Tasker with demo templates, a worker, a few
 * tasks in different states, and the API (with the built dashboard) listening on a free port.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ApiOptions, startServer } from '../../src/api/index.js';
import { defineTask, PermanentError, RetryableError, type Tasker } from '../../src/index.js';
import { PG_URL, testTasker } from '../helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const UI_DIR = `${ROOT}dist/ui`;
export const ARTIFACTS = `${ROOT}test-artifacts`;

/** Builds the dashboard when `npm run build` has not (the API serves it only when index.html exists). */
export async function ensureDashboardBuilt(): Promise<void> {
  if (existsSync(`${UI_DIR}/index.html`)) return;
  const { build } = await import('vite');
  await build({ configFile: `${ROOT}web/vite.config.ts`, logLevel: 'error' });
}

export function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once per key; `wait` before `done` waits, after it returns at once. */
function signals() {
  const waiting = new Map<number, { promise: Promise<void>; resolve: () => void }>();
  const get = (key: number) => {
    let entry = waiting.get(key);
    if (!entry) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      entry = { promise, resolve };
      waiting.set(key, entry);
    }
    return entry;
  };
  return { done: (key: number) => get(key).resolve(), wait: (key: number) => get(key).promise };
}

/**
 * demo.pipeline: a diamond whose `transform_b` fails once then succeeds, and finishes after `transform_a`
 * whatever the machine's speed (so the critical path runs through it); demo.failing; demo.slow (waits
 * until cancelled).
 */
export function registerDemoTemplates(tasker: Tasker): void {
  const transformA = signals();
  tasker.register(
    defineTask({
      namespace: 'demo',
      name: 'pipeline',
      version: '1.0.0',
      description: 'extract, two transforms in parallel, load',
      contextSchema: {
        type: 'object',
        required: ['batch'],
        properties: { batch: { type: 'integer', minimum: 1 } },
        additionalProperties: false,
      },
      steps: [
        {
          name: 'extract',
          handler: async ({ context }) => {
            await pause(30);
            return { rows: context.batch };
          },
        },
        {
          name: 'transform_a',
          dependsOn: ['extract'],
          handler: async ({ task }) => {
            await pause(20);
            transformA.done(task.id);
            return { a: true };
          },
        },
        {
          name: 'transform_b',
          dependsOn: ['extract'],
          retryLimit: 3,
          handler: async ({ attempt, task }) => {
            if (attempt === 1) throw new RetryableError('upstream busy', { retryAfterMs: 150 });
            await transformA.wait(task.id);
            await pause(60);
            return { b: true };
          },
        },
        { name: 'load', dependsOn: ['transform_a', 'transform_b'], handler: async () => ({ loaded: true }) },
      ],
    }),
  );
  tasker.register(
    defineTask({
      namespace: 'demo',
      name: 'failing',
      steps: [
        {
          name: 'charge_card',
          handler: async () => {
            throw new PermanentError('card declined', { code: 'DECLINED' });
          },
        },
        { name: 'send_receipt', dependsOn: ['charge_card'], handler: async () => ({}) },
      ],
    }),
  );
  tasker.register(
    defineTask({
      namespace: 'demo',
      name: 'slow',
      steps: [
        { name: 'prepare', handler: async () => ({}) },
        {
          name: 'wait_for_approval',
          dependsOn: ['prepare'],
          timeoutMs: 120_000,
          handler: ({ signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            }),
        },
      ],
    }),
  );
}

export interface DashboardServer {
  readonly tasker: Tasker;
  /** e.g. http://127.0.0.1:41234/tasker */
  readonly apiUrl: string;
  readonly ids: { readonly pipeline: number; readonly failing: number; readonly slow: number };
  close(): Promise<void>;
}

/** Starts the server with three finished-or-running tasks: complete, error and in_progress. */
export async function startDashboardServer(api: Omit<ApiOptions, 'tasker'> = {}): Promise<DashboardServer> {
  const { tasker } = await testTasker(PG_URL ? 'postgres' : 'pglite');
  registerDemoTemplates(tasker);
  await tasker.startWorker({ concurrency: 4 });
  const pipeline = await tasker.createTask({
    namespace: 'demo',
    name: 'pipeline',
    context: { batch: 7 },
    tags: ['nightly'],
  });
  const failing = await tasker.createTask({ namespace: 'demo', name: 'failing', context: {} });
  const slow = await tasker.createTask({ namespace: 'demo', name: 'slow', context: {} });
  await tasker.waitForTask(pipeline.id, { timeoutMs: 30_000 });
  await tasker.waitForTask(failing.id, { timeoutMs: 30_000 });
  for (let i = 0; i < 200; i++) {
    const task = await tasker.getTask(slow.id);
    if (task.steps.some((s) => s.name === 'wait_for_approval' && s.state === 'in_progress')) break;
    await pause(50);
  }
  const server = await startServer({ tasker, port: 0, uiDir: UI_DIR, ...api });
  return {
    tasker,
    apiUrl: server.url,
    ids: { pipeline: pipeline.id, failing: failing.id, slow: slow.id },
    close: () => server.close(),
  };
}
