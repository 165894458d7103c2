/**
 * `tasker serve`: the HTTP API, the dashboard and (unless --no-worker) a worker, in one process.
 * `tasker dev` (= `serve --watch`): the same, reloading templates and handlers when their files change.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { serverOptionsFromConfig } from '../../api/options-from-config.js';
import { startServer } from '../../api/server.js';
import { listenWhileStarting } from '../../api/starting-server.js';
import { logStepOutcomes } from '../../telemetry/step-outcome-log.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import {
  databaseLine,
  type GlobalOptions,
  openProject,
  parseIntOption,
  readConfig,
  schedulesLine,
} from '../project.js';
import { assertNotProduction, watchWorkflows } from '../watch-workflows.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface ServeOptions {
  port?: string;
  host?: string;
  worker: boolean;
  concurrency?: string;
  watch?: boolean;
}

export function registerServe(program: Command, output: Output, run: Runner) {
  program
    .command('serve')
    .description('serve the HTTP API and the dashboard, with a worker in the same process')
    .option('--port <n>', 'port to listen on (default: api.port, PORT or 3000; 0 picks a free one)')
    .option('--host <host>', 'address to listen on (default: api.host or 127.0.0.1)')
    .option('--no-worker', 'serve the API only (workers run elsewhere)')
    .option('--concurrency <n>', "the worker's concurrency (default: execution.concurrency)")
    .option(
      '--watch',
      'reload templates and handlers when their files change (development only; as tasker dev)',
    )
    .addHelpText(
      'after',
      `
Routes live under api.prefix (default /tasker): the dashboard at /tasker/ui/, the OpenAPI document at
/tasker/openapi.json with Swagger UI at /tasker/api-docs, GraphQL at /tasker/graphql, metrics at
/tasker/metrics. SIGINT/SIGTERM stop the server and the worker gracefully.

Examples:
  $ tasker serve
  $ DATABASE_URL=postgres://localhost/app tasker serve --host 0.0.0.0 --port 8080 --no-worker`,
    )
    .action((options: ServeOptions, command: Command) =>
      run(() => serve(options, command.optsWithGlobals<GlobalOptions>(), output)),
    );

  program
    .command('dev')
    .description(
      'tasker serve --watch: the API, dashboard and a worker that reload when templates or handlers change',
    )
    .option('--port <n>', 'port to listen on (default: api.port, PORT or 3000; 0 picks a free one)')
    .option('--host <host>', 'address to listen on (default: api.host or 127.0.0.1)')
    .option('--concurrency <n>', "the worker's concurrency (default: execution.concurrency)")
    .addHelpText(
      'after',
      `
Watches workflows.templatesDir and workflows.handlersDir. After a change it loads every template and
handler again: when all are valid they replace the running ones and the worker restarts (running steps
finish on the old code first); otherwise it prints the problems and keeps serving the previous version.
Refused with NODE_ENV=production or workflows.environment: production.

Examples:
  $ tasker dev
  $ tasker dev --port 4000`,
    )
    .action((options: Omit<ServeOptions, 'worker' | 'watch'>, command: Command) =>
      run(() =>
        serve({ ...options, worker: true, watch: true }, command.optsWithGlobals<GlobalOptions>(), output),
      ),
    );
}

async function serve(options: ServeOptions, global: GlobalOptions, output: Output): Promise<ExitCode> {
  const port = parseIntOption(options.port, '--port', { min: 0, max: 65_535 });
  const concurrency = parseIntOption(options.concurrency, '--concurrency');
  const config = await readConfig(global);
  if (options.watch) assertNotProduction(config);
  // Bind first: a port in use fails before anything starts, and while the database is awaited an
  // orchestrator sees the process live (/health/live 200) but not ready (/health/ready 503).
  const listening = await listenWhileStarting({
    host: options.host ?? config.api.host,
    port: port ?? config.api.port,
    prefix: config.api.prefix,
    maxHeaderSize: config.api.maxHeaderSize,
    requestTimeoutMs: config.api.requestTimeoutMs,
  });
  let stopServing = () => listening.close();
  let stopped: Promise<void> | undefined;
  const closeServer = () => {
    stopped ??= stopServing();
    return stopped;
  };
  try {
    const { tasker, schedules } = await openProject(global, {
      workflows: true,
      schedules: true,
      quiet: false,
      config,
    });
    try {
      if (options.worker) logStepOutcomes(tasker.events, tasker.logger);
      const startWorker = () => tasker.startWorker(concurrency ? { concurrency } : {});
      const worker = options.worker ? await startWorker() : null;
      const watcher = options.watch ? watchWorkflows({ config, tasker, output, worker, startWorker }) : null;
      await watcher?.ready;
      const server = await startServer({ ...serverOptionsFromConfig(config, tasker), listening });
      stopServing = () => server.close();
      output.err(
        [
          `Tasker API on ${server.url} (${worker ? `with worker ${worker.name}` : 'no worker'})`,
          `  ${databaseLine(tasker)}`,
          ...(schedulesLine(schedules) ? [`  ${schedulesLine(schedules)}`] : []),
          `  dashboard  ${server.url}/ui/`,
          `  API docs   ${server.url}/api-docs`,
          `  GraphQL    ${server.url}/graphql`,
          ...(watcher
            ? [
                `  watching   ${[config.workflows.templatesDir, config.workflows.handlersDir]
                  .filter((p): p is string => Boolean(p))
                  .map((p) => relative(process.cwd(), p) || '.')
                  .join(', ')} (reloads on change)`,
              ]
            : []),
        ].join('\n'),
      );
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      output.err(`${signal}: stopping`);
      await watcher?.close();
      await closeServer();
      await (watcher ? watcher.worker() : worker)?.stop();
      return EXIT.OK;
    } finally {
      await tasker.close();
    }
  } finally {
    await closeServer();
  }
}
