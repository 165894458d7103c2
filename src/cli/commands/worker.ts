/** `tasker migrate` and `tasker worker`. */
import type { Command } from 'commander';
import { migrate, migrationStatus } from '../../db/migrate.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { databaseLine, type GlobalOptions, openProject, parseIntOption, withProject } from '../project.js';

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
    .option('--namespaces <list>', 'serve only these namespaces (comma-separated)')
    .option('--name <name>', 'the worker name shown in logs (default: host:pid)')
    .addHelpText(
      'after',
      `
Start as many workers as you like, on as many machines, against one PostgreSQL database. On the
embedded database, workers on the same machine share the data directory through the process that
opened it first (docs/deployment.md).

Examples:
  $ DATABASE_URL=postgres://localhost/app tasker worker --concurrency 20
  $ tasker worker --namespaces ecommerce,inventory`,
    )
    .action((options: { concurrency?: string; namespaces?: string; name?: string }, command: Command) =>
      run(async () => {
        const concurrency = parseIntOption(options.concurrency, '--concurrency');
        const namespaces = options.namespaces
          ?.split(',')
          .map((n) => n.trim())
          .filter(Boolean);
        const { tasker, config } = await openProject(command.optsWithGlobals<GlobalOptions>(), {
          workflows: true,
          quiet: false,
        });
        try {
          const worker = await tasker.startWorker({
            ...(concurrency ? { concurrency } : {}),
            ...(namespaces?.length ? { namespaces } : {}),
            ...(options.name ? { name: options.name } : {}),
          });
          const served = tasker
            .templates()
            .filter((t) => !namespaces?.length || namespaces.includes(t.namespace))
            .map((t) => `${t.namespace}/${t.name}@${t.version}`);
          output.err(
            `worker ${worker.name} started (concurrency ${concurrency ?? config.execution.concurrency}); serving ${served.join(', ')}\n  ${databaseLine(tasker)}`,
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
      }),
    );
}
