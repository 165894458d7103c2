/** `tasker db export [file]`: the embedded database as SQL, to move it into a PostgreSQL server. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { databaseLine, type GlobalOptions, withProject } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

export function registerDb(program: Command, output: Output, run: Runner) {
  const db = program.command('db').description('work with the database as a whole');
  db.command('export')
    .description("write the embedded database's Tasker schema as SQL (stdout without a file)")
    .argument('[file]', 'where to write the SQL (default: stdout)')
    .addHelpText(
      'after',
      `
The SQL (pg_dump's, with the rows, sequences and functions of the configured schema) loads into an empty
PostgreSQL 15+ database; then point Tasker at it with DATABASE_URL. Works while \`tasker serve\` runs:
the process that owns the data directory makes the dump. See docs/deployment.md.

Examples:
  $ tasker db export dump.sql
  $ psql "postgres://localhost/app" -v ON_ERROR_STOP=1 -f dump.sql
  $ DATABASE_URL=postgres://localhost/app tasker worker`,
    )
    .action((file: string | undefined, _options: unknown, command: Command) =>
      run(() =>
        withProject(
          command.optsWithGlobals<GlobalOptions>(),
          { migrate: false },
          async ({ tasker, config }) => {
            if (!tasker.database.exportSchema) {
              throw new CliError(
                EXIT.USAGE,
                'tasker db export reads the embedded database; this configuration uses PostgreSQL (DATABASE_URL), which pg_dump exports',
              );
            }
            const sql = await tasker.database.exportSchema(config.database.schema);
            if (file) {
              writeFileSync(resolve(file), sql);
              output.err(
                `${databaseLine(tasker)}\nexported schema ${config.database.schema} to ${file} (${sql.length} bytes)`,
              );
            } else output.out(sql.trimEnd());
            return EXIT.OK;
          },
        ),
      ),
    );
}
