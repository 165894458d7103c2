/**
 * Watch mode (`tasker dev`, `tasker serve --watch`): when a template or handler file changes, load the
 * workflows again, register them over the old ones and restart the worker so it serves the new code.
 * A change that breaks a template or a handler is reported and the previous version keeps running.
 * For the local loop only: the command refuses it in production (see assertNotProduction).
 */
import { basename, relative } from 'node:path';
import { watch } from 'chokidar';
import { reloadModules } from '../config/import-module.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { Tasker } from '../tasker.js';
import { loadWorkflows } from '../templates/load-templates.js';
import type { Worker } from '../worker/worker.js';
import { CliError, EXIT } from './exit-codes.js';
import type { Output } from './output.js';

/** Editors write a file in bursts (temp file, rename, chmod): one reload per burst. */
const SETTLE_MS = 150;

export interface WorkflowWatcher {
  /** The worker serving the latest code (null when the command runs none). */
  worker(): Worker | null;
  /** Resolves when the watcher is ready: changes from then on trigger a reload. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Watch mode reloads code inside a serving process: refused where that process may be production. */
export function assertNotProduction(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env): void {
  const why =
    env.NODE_ENV === 'production'
      ? 'NODE_ENV is production'
      : config.workflows.environment === 'production'
        ? 'workflows.environment is production'
        : null;
  if (why) {
    throw new CliError(
      EXIT.USAGE,
      `watch mode reloads code while serving, for development only: refused because ${why} (use tasker serve)`,
    );
  }
}

export function watchWorkflows(options: {
  config: LoadedConfig;
  tasker: Tasker;
  output: Output;
  worker: Worker | null;
  /** Starts a worker as the command started the first one. */
  startWorker: () => Promise<Worker>;
}): WorkflowWatcher {
  const { config, tasker, output } = options;
  const paths = [
    config.workflows.templatesDir,
    ...(config.workflows.handlersDir ? [config.workflows.handlersDir] : []),
  ];
  let worker = options.worker;
  let timer: NodeJS.Timeout | null = null;
  let changed = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const reload = async (files: readonly string[]) => {
    const started = performance.now();
    reloadModules();
    const loaded = await loadWorkflows({
      templatesDir: config.workflows.templatesDir,
      handlersDir: config.workflows.handlersDir,
      environment: config.workflows.environment,
    });
    const what = files.map((f) => relative(process.cwd(), f) || f).join(', ');
    if (loaded.problems.length > 0) {
      output.err(
        [
          `reload after a change to ${what}: ${loaded.problems.length} problem(s); still serving the previous version`,
          ...loaded.problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`),
        ].join('\n'),
      );
      return;
    }
    for (const [name, handler] of loaded.handlers) tasker.registerHandler(name, handler, { replace: true });
    for (const template of loaded.templates) tasker.register(template, { replace: true });
    if (worker && !closed) {
      // Running steps finish on the old code (up to execution.shutdownTimeoutMs); new ones run the new.
      await worker.stop();
      worker = await options.startWorker();
    }
    const names = loaded.templates.map((t) => `${t.namespace}/${t.name}@${t.version}`);
    output.err(
      `reloaded after a change to ${what} (${Math.round(performance.now() - started)} ms): ${names.join(', ')}`,
    );
  };

  const schedule = (file: string) => {
    if (closed) return;
    changed.add(file);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const files = [...changed];
      changed = new Set();
      // One reload at a time, in order: a change during a reload reloads again after it.
      running = running.then(() =>
        closed
          ? undefined
          : reload(files).catch((error: unknown) =>
              output.err(`reload failed: ${(error as Error).message}; still serving the previous version`),
            ),
      );
    }, SETTLE_MS);
  };

  const watcher = watch(paths, {
    ignoreInitial: true,
    // Dot files (editor swap files, .git) and node_modules: ignoring a directory skips all below it.
    ignored: (path) => {
      if (paths.includes(path)) return false;
      const name = basename(path);
      return name === 'node_modules' || (name.startsWith('.') && name !== '.' && name !== '..');
    },
  });
  watcher.on('all', (_event, path) => schedule(path));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  return {
    worker: () => worker,
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}
