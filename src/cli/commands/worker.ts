/** `tasker migrate` and `tasker worker`. */
import type { Command } from 'commander';
import { listenWhileStarting } from '../../api/starting-server.js';
import { serveWorkerProbes } from '../../api/worker-probes.js';
import { migrate, migrationStatus } from '../../db/migrate.js';
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
  withProject,
} from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

export function registerWorker(program: Command, output: Output, run: Runner) {
  program
    .command('migrate')
    .description("create or upgrade Tasker's tables and functions in the configured schema")
    .option('--json', 'print { applied, current } as JSON')
    .addHelpText(
      'after',
      '\nMigrations only go forward and are safe to run from several processes at once.\n\nExamples:\n  $ DATABASE_URL=postgres://localhost/app tasker migrate',
    )
    .action((options: { json?: boolean }, command: Command) =>
      run(() =>
        withProject(
          command.optsWithGlobals<GlobalOptions>(),
          { migrate: false },
          async ({ tasker, config }) => {
            const applied = await migrate(tasker.database, config.database.schema);
            const status = await migrationStatus(tasker.database, config.database.schema);
            if (options.json)
              output.json({ applied, current: status.current, schema: config.database.schema });
            else {
              output.out(
                applied.length > 0
                  ? `applied migrations ${applied.join(', ')} to schema ${config.database.schema}`
                  : `schema ${config.database.schema} is up to date (migration ${status.current})`,
              );
            }
            return EXIT.OK;
          },
        ),
      ),
    );

  program
    .command('worker')
    .description(
      'run steps of the configured task templates until stopped (SIGINT/SIGTERM stop it gracefully)',
    )
    .option('--concurrency <n>', 'steps run at once (default: execution.concurrency)')
    .option(
      '--prefetch <n>',
      "steps claimed beyond --concurrency, started the moment a slot frees (a concurrency key's next steps among them, started as its holder here ends; default: execution.prefetch, 0)",
    )
    .option('--namespaces <list>', 'serve only these namespaces (comma-separated)')
    .option('--name <name>', 'the worker name shown in logs (default: host:pid)')
    .option(
      '--port <n>',
      'serve health probes and Prometheus metrics on this port (<prefix>/health/live, /health/ready, /metrics; 0 picks a free one)',
    )
    .option('--host <host>', 'address for --port (default: api.host or 127.0.0.1)')
    .addHelpText(
      'after',
      `
Start as many workers as you like, on as many machines, against one PostgreSQL database. On the
embedded database, workers on the same machine share the data directory through the process that
opened it first (docs/deployment.md).

Examples:
  $ DATABASE_URL=postgres://localhost/app tasker worker --concurrency 20
  $ tasker worker --concurrency 50 --prefetch 50   # short steps at high rates: the next ones wait in line
  $ tasker worker --namespaces ecommerce,inventory
  $ tasker worker --port 9464 --host 0.0.0.0   # /tasker/health/ready and /tasker/metrics for probes and Prometheus`,
    )
    .action((options: WorkerCommandOptions, command: Command) =>
      run(async () => {
        const concurrency = parseIntOption(options.concurrency, '--concurrency');
        const prefetch = parseIntOption(options.prefetch, '--prefetch', { min: 0 });
        const port = parseIntOption(options.port, '--port', { min: 0, max: 65_535 });
        const namespaces = options.namespaces
          ?.split(',')
          .map((n) => n.trim())
          .filter(Boolean);
        const global = command.optsWithGlobals<GlobalOptions>();
        const loaded = await readConfig(global);
        // Probes first, as `serve` does: live at once, ready only once the worker runs.
        const listening =
          port === undefined
            ? null
            : await listenWhileStarting({
                host: options.host ?? loaded.api.host,
                port,
                prefix: loaded.api.prefix,
              });
        try {
          const { tasker, config, schedules } = await openProject(global, {
            workflows: true,
            schedules: true,
            quiet: false,
            config: loaded,
          });
          try {
            logStepOutcomes(tasker.events, tasker.logger);
            const worker = await tasker.startWorker({
              ...(concurrency ? { concurrency } : {}),
              ...(prefetch !== undefined ? { prefetch } : {}),
              ...(namespaces?.length ? { namespaces } : {}),
              ...(options.name ? { name: options.name } : {}),
            });
            if (listening) {
              serveWorkerProbes({
                tasker,
                worker,
                listening,
                prefix: config.api.prefix,
                readinessTimeoutMs: config.health.readyTimeoutMs,
              });
            }
            const served = tasker
              .templates()
              .filter((t) => !namespaces?.length || namespaces.includes(t.namespace))
              .map((t) => `${t.namespace}/${t.name}@${t.version}`);
            output.err(
              `worker ${worker.name} started (concurrency ${concurrency ?? config.execution.concurrency}${prefetchNote(prefetch ?? config.execution.prefetch)}); serving ${served.join(', ')}\n  ${databaseLine(tasker)}${schedulesLine(schedules) ? `\n  ${schedulesLine(schedules)}` : ''}${
                listening
                  ? `\n  probes     ${listening.origin}${config.api.prefix}/health/ready, metrics ${listening.origin}${config.api.prefix}/metrics`
                  : ''
              }`,
            );
            const signal = await new Promise<NodeJS.Signals>((resolve) => {
              process.once('SIGINT', () => resolve('SIGINT'));
              process.once('SIGTERM', () => resolve('SIGTERM'));
            });
            output.err(
              `${signal}: stopping (running steps may finish for up to ${config.execution.shutdownTimeoutMs} ms)`,
            );
            await worker.stop();
            return EXIT.OK;
          } finally {
            await tasker.close();
          }
        } finally {
          await listening?.close();
        }
      }),
    );
}

/** The start-up line names the prefetch only when there is one. */
function prefetchNote(prefetch: number): string {
  return prefetch > 0 ? `, prefetch ${prefetch}` : '';
}

interface WorkerCommandOptions {
  concurrency?: string;
  prefetch?: string;
  namespaces?: string;
  name?: string;
  port?: string;
  host?: string;
}
