/** `tasker run NS/NAME[@VERSION]`: create a task, follow it to its end, exit by its final state. */
import type { Command } from 'commander';
import { MAX_PRIORITY } from '../../model/flow-control.js';
import type { TaskWithSteps } from '../../model/types.js';
import type { Worker } from '../../worker/worker.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { createRedrawer, renderTask } from '../progress.js';
import {
  databaseLine,
  type GlobalOptions,
  parseIntOption,
  parseTaskName,
  readJsonArgument,
  withProject,
} from '../project.js';

interface RunOptions {
  context?: string;
  worker: boolean;
  concurrency?: string;
  timeout?: string;
  json?: boolean;
  tag?: string[];
  idempotencyKey?: string;
  reason?: string;
  at?: string;
  in?: string;
  priority?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--in`: a duration such as 90s, 15m, 2h, 1d or 500ms. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) {
    throw new CliError(EXIT.USAGE, `${flag} must be a duration such as 90s, 15m, 2h or 1d, got "${value}"`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** `--at`: an ISO 8601 time with a zone (2026-12-24T18:00:00Z or +01:00). */
export function parseTime(value: string, flag: string): Date {
  const at = /(Z|[+-]\d\d:?\d\d)$/i.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new CliError(
      EXIT.USAGE,
      `${flag} must be an ISO 8601 time with a zone such as 2026-12-24T18:00:00Z, got "${value}"`,
    );
  }
  return at;
}

const FINISHED = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);

export function exitCodeForTask(task: TaskWithSteps): ExitCode {
  if (task.state === 'complete' || task.state === 'resolved_manually') return EXIT.OK;
  if (task.state === 'cancelled') return EXIT.CANCELLED;
  return EXIT.FAILED;
}

export function registerRun(
  program: Command,
  output: Output,
  run: (fn: () => Promise<ExitCode>) => Promise<void>,
) {
  program
    .command('run')
    .description('create a task and follow it until it finishes (exit 0 when it completes)')
    .argument('<task>', 'NAMESPACE/NAME[@VERSION] of a task template')
    .option('--context <json>', 'the task context: JSON, or @file.json (@- reads stdin)')
    .option('--no-worker', 'do not run steps here: wait for a separate `tasker worker` or `tasker serve`')
    .option('--concurrency <n>', 'steps the in-process worker runs at once')
    .option('--timeout <ms>', 'stop waiting after this long (exit 7; the task keeps running)')
    .option('--tag <tag...>', 'tags for the task')
    .option(
      '--idempotency-key <key>',
      'the same key makes the same task: a second run follows the first (exit 5 under the strict identity strategy)',
    )
    .option('--reason <text>', 'why the task was created (kept in its audit trail)')
    .option('--at <time>', 'start no step before this ISO 8601 time (a delayed task)')
    .option('--in <duration>', 'start no step before this long from now: 90s, 15m, 2h, 1d')
    .option('--priority <n>', "claim priority: N is worth N seconds of waiting (default: the template's)")
    .option('--json', 'print the finished task as JSON (no live view)')
    .addHelpText(
      'after',
      `
By default the steps run in this process (an in-process worker serving the task's namespace), so
\`tasker run\` works on the embedded database with nothing else running. With --no-worker the task is
only created and followed; other processes run it (\`tasker worker\` or \`tasker serve\`, on
PostgreSQL or on the same embedded database on this machine).

Examples:
  $ tasker run ecommerce/order_processing --context '{"cart_id": 1, "customer_email": "ada@example.com"}'
  $ tasker run customer/user_onboarding@1.0.0 --context @signup.json --json
  $ DATABASE_URL=postgres://localhost/app tasker run inventory/stock_management --no-worker --timeout 60000
  $ tasker run customer/user_onboarding --context @signup.json --in 15m`,
    )
    .action((taskArg: string, options: RunOptions, command: Command) =>
      run(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const { namespace, name, version } = parseTaskName(taskArg);
        const context = readJsonArgument(options.context, '--context') ?? {};
        if (typeof context !== 'object' || context === null || Array.isArray(context)) {
          throw new CliError(EXIT.USAGE, '--context must be a JSON object');
        }
        const concurrency = parseIntOption(options.concurrency, '--concurrency');
        const timeoutMs = parseIntOption(options.timeout, '--timeout');
        if (options.at !== undefined && options.in !== undefined) {
          throw new CliError(EXIT.USAGE, 'give --at or --in, not both');
        }
        const runAt = options.at === undefined ? undefined : parseTime(options.at, '--at');
        const delayMs = options.in === undefined ? undefined : parseDuration(options.in, '--in');
        const priority = parseIntOption(options.priority, '--priority', {
          min: -MAX_PRIORITY,
          max: MAX_PRIORITY,
        });
        return withProject(global, { workflows: true }, async ({ tasker }) => {
          output.err(databaseLine(tasker));
          tasker.template(namespace, name, version); // TASKER_UNKNOWN_TASK (exit 4) names what is registered
          const created = await tasker.createTask({
            namespace,
            name,
            ...(version ? { version } : {}),
            context: context as Record<string, unknown>,
            initiator: 'tasker-cli',
            sourceSystem: 'cli',
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.tag ? { tags: options.tag } : {}),
            ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
            ...(runAt ? { runAt } : {}),
            ...(delayMs !== undefined ? { delayMs } : {}),
            ...(priority !== undefined ? { priority } : {}),
          });
          // Ctrl-C stops following (and this process's worker) without touching the task: it is in the
          // database, and any worker picks it up again.
          let onSigint = () => {};
          const interrupted = new Promise<'interrupted'>((resolve) => {
            onSigint = () => resolve('interrupted');
            process.once('SIGINT', onSigint);
          });
          if (!options.json && !output.tty) {
            output.out(
              `task ${created.id} ${created.created ? 'created' : 'already exists (a duplicate request: following it)'}`,
            );
          }
          let worker: Worker | null = null;
          try {
            if (options.worker)
              worker = await tasker.startWorker({
                namespaces: [namespace],
                ...(concurrency ? { concurrency } : {}),
              });
          } catch (error) {
            process.off('SIGINT', onSigint);
            throw error;
          }

          const live = output.tty && !options.json;
          const redraw = createRedrawer((text) => process.stdout.write(text));
          let stopLive = false;
          const following = live
            ? (async () => {
                while (!stopLive) {
                  const task = await tasker.getTask(created.id);
                  if (stopLive) break;
                  redraw(renderTask(task, output));
                  if (FINISHED.has(task.state)) break;
                  await new Promise((r) => setTimeout(r, 250));
                }
              })()
            : Promise.resolve();
          let done: TaskWithSteps | 'interrupted';
          try {
            done = await Promise.race([
              tasker.waitForTask(created.id, timeoutMs ? { timeoutMs } : {}),
              interrupted,
            ]);
          } finally {
            process.off('SIGINT', onSigint);
            stopLive = true;
            await following.catch(() => {});
            await worker?.stop({ timeoutMs: 5000 });
          }
          if (done === 'interrupted') {
            output.err(
              `interrupted: task ${created.id} goes on when a worker runs (tasker worker, or tasker run)`,
            );
            return EXIT.INTERRUPTED;
          }
          if (options.json) output.json({ ...done, auditTrail: await tasker.getAuditTrail(done.id) });
          else if (live) redraw(renderTask(done, output));
          else output.out(renderTask(done, output));
          return exitCodeForTask(done);
        });
      }),
    );
}
