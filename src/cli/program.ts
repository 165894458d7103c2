/**
 * The `tasker` command line: a thin layer over the library (config, templates, the Tasker API). Each
 * command returns its exit code; errors become a message (or JSON with --json) and their exit code.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBulk } from './commands/bulk.js';
import { registerCheck } from './commands/check.js';
import { registerDb } from './commands/db.js';
import { registerFailures } from './commands/failures.js';
import { registerInspect } from './commands/inspect.js';
import { registerOperate } from './commands/operate.js';
import { registerArchive, registerPrune } from './commands/prune.js';
import { registerRun } from './commands/run.js';
import { registerScaffold } from './commands/scaffold.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServe } from './commands/serve.js';
import { registerWorker } from './commands/worker.js';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes.js';
import { errorJson, errorText, type Output, paint } from './output.js';
import type { GlobalOptions } from './project.js';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The stack of an error and of its causes. */
function stackOf(error: Error): string {
  const lines = [error.stack ?? String(error)];
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++, cause = cause.cause) {
    lines.push(`caused by: ${cause.stack ?? String(cause)}`);
  }
  return lines.join('\n');
}

export function createProgram(output: Output, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('tasker')
    // Parsing errors throw (and become exit code 2 in main.ts); set before the commands so they inherit it.
    .exitOverride()
    .description('Durable DAG workflows on PostgreSQL (or embedded PGlite): run, inspect and operate tasks.')
    .option(
      '-c, --config <file>',
      'config file (default: ./tasker.config.{ts,mts,js,mjs,json,yaml,yml}; env TASKER_CONFIG)',
    )
    .option(
      '--connect-timeout <ms>',
      'how long to wait for a PostgreSQL server that is down or starting (default: database.connectTimeoutMs, 30000; 0 tries once)',
    )
    .option('--debug', 'print the stack trace of any error')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Configuration comes from the config file and environment variables (DATABASE_URL, TASKER_*); without
either, tasks live in an embedded database in ./.tasker.

Examples:
  $ tasker init my-workflows
  $ tasker validate
  $ tasker run ecommerce/order_processing --context '{"cart_id": 1, "customer_email": "ada@example.com"}'
  $ tasker list --state error --json

\`tasker --version\` prints the version.

Exit codes: 0 ok, 1 task failed / check failed, 2 usage, 3 invalid config or templates, 4 not found,
5 not allowed in this state, 6 database unavailable, 7 timed out, 8 task cancelled, 70 internal error,
130 interrupted. --debug prints the stack trace of any error.`,
    );

  /** Runs a command body: its exit code, or the error's (printed as text, or JSON under --json). */
  const run = async (fn: () => Promise<ExitCode>): Promise<void> => {
    try {
      setExitCode(await fn());
    } catch (error) {
      const code = exitCodeFor(error);
      if (process.argv.includes('--json')) output.json(errorJson(error));
      else {
        output.err(
          `${paint({ colour: process.stderr.isTTY === true && output.colour }, 'red', 'error:')} ${errorText(error)}`,
        );
        const debug = program.opts<GlobalOptions>().debug === true;
        if ((code === EXIT.INTERNAL || debug) && error instanceof Error) output.err(stackOf(error));
      }
      setExitCode(code);
    }
  };

  registerScaffold(program, output, run);
  registerCheck(program, output, run);
  registerWorker(program, output, run);
  registerRun(program, output, run);
  registerInspect(program, output, run);
  registerOperate(program, output, run);
  registerPrune(program, output, run);
  registerArchive(program, output, run);
  registerFailures(program, output, run);
  registerSchedule(program, output, run);
  registerBulk(program, output, run);
  registerServe(program, output, run);
  registerDb(program, output, run);
  return program;
}
