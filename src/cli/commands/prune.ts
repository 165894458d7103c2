/**
 * `tasker prune`: remove (or archive) old finished tasks by hand, or run the configured retention policy
 * now; `tasker archive`: the archive's monthly partitions.
 */
import type { Command } from 'commander';
import type { PruneReport, PruneRequest } from '../../worker/retention-job.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import { type Output, table } from '../output.js';
import { type GlobalOptions, parseIntOption, withProject } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface PruneOptions {
  olderThan?: string;
  state?: string;
  task?: string;
  policy?: boolean;
  dryRun?: boolean;
  archive?: boolean;
  batchSize?: string;
  json?: boolean;
}

function describe(r: PruneReport): string {
  const what = `${r.tasks} finished task(s), ${r.steps} step(s) and ${r.transitions} audit row(s)`;
  const verb = r.mode === 'archive' ? 'archive' : 'remove';
  return r.dryRun
    ? `would ${verb} ${what} (dry run: nothing changed)`
    : `${verb}d ${what} in ${r.durationMs} ms`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

export function registerPrune(program: Command, output: Output, run: Runner) {
  program
    .command('prune')
    .description('remove finished tasks older than an age, with their steps and audit trail')
    .option('--older-than <age>', 'finished longer ago than this: 30d, 12h, 90m, 2w')
    .option(
      '--state <list>',
      'only these final states (comma-separated: complete, error, cancelled, resolved_manually)',
    )
    .option('--task <ns[/name]>', 'only tasks of this namespace, or of one template')
    .option('--policy', 'run the configured retention policy (the `retention` config group) instead')
    .option('--dry-run', 'count what would be removed; remove nothing')
    .option(
      '--archive',
      'move the tasks into the archive instead of deleting them (docs/operations.md#archiving)',
    )
    .option('--batch-size <n>', 'tasks removed per transaction (default: retention.batchSize, 500)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Tasks go in small transactions that lock only the finished tasks they remove; running
workers are not held up. When another process is pruning (a worker's retention job), this waits for it.

Examples:
  $ tasker prune --older-than 30d --dry-run
  $ tasker prune --older-than 7d --state complete --task ecommerce/order_processing
  $ tasker prune --older-than 90d --archive
  $ tasker prune --policy`,
    )
    .action((options: PruneOptions, command: Command) =>
      run(async () => {
        if (
          options.policy &&
          (options.olderThan || options.state || options.task || options.batchSize || options.archive)
        ) {
          throw new CliError(
            EXIT.USAGE,
            '--policy runs the configured policy: leave out --older-than, --state, --task, --batch-size and --archive',
          );
        }
        if (!options.policy && !options.olderThan) {
          throw new CliError(EXIT.USAGE, 'expected --older-than AGE (such as 30d), or --policy');
        }
        const batchSize = parseIntOption(options.batchSize, '--batch-size', { min: 1, max: 10_000 });
        const [namespace, name, extra] = options.task?.split('/') ?? [];
        if (options.task !== undefined && (!namespace || name === '' || extra !== undefined)) {
          throw new CliError(EXIT.USAGE, `--task expects NAMESPACE or NAMESPACE/NAME, got "${options.task}"`);
        }
        const ageMatch =
          options.olderThan === undefined || /^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(options.olderThan);
        if (!ageMatch) {
          throw new CliError(
            EXIT.USAGE,
            `--older-than expects a duration such as 30d, 12h or 90m, got "${options.olderThan}"`,
          );
        }
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const report = options.policy
            ? await tasker.applyRetention({ dryRun: options.dryRun === true })
            : await tasker.prune({
                olderThan: options.olderThan!,
                ...(options.state
                  ? { states: options.state.split(',').map((s) => s.trim()) as PruneRequest['states'] }
                  : {}),
                ...(namespace ? { namespace } : {}),
                ...(name ? { name } : {}),
                ...(options.dryRun ? { dryRun: true } : {}),
                ...(options.archive ? { archive: true } : {}),
                ...(batchSize ? { batchSize } : {}),
              });
          if (options.json) output.json(report);
          else
            output.out(
              options.policy && tasker.config.retention.rules.length === 0 && !tasker.config.retention.archive
                ? 'no retention policy is configured: every task is kept'
                : describe(report),
            );
          return EXIT.OK;
        });
      }),
    );
}

export function registerArchive(program: Command, output: Output, run: Runner) {
  program
    .command('archive')
    .description("list the archive's monthly partitions: tasks (estimated) and size")
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Retention in archive mode (the retention.archive config group) or \`tasker prune --archive\` moves
finished tasks here; \`tasker list --tier archived\` lists them and \`tasker show ID\` reads one back.`,
    )
    .action((options: { json?: boolean }, command: Command) =>
      run(() =>
        withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const partitions = await tasker.archivePartitions();
          if (options.json) output.json(partitions);
          else if (partitions.length === 0) output.out('the archive is empty: no partitions');
          else
            output.out(
              table([
                ['PARTITION', 'MONTH', 'TASKS (EST.)', 'SIZE'],
                ...partitions.map((p) => [
                  p.name,
                  p.month.slice(0, 7),
                  p.tasks === null ? 'not analyzed yet' : String(p.tasks),
                  megabytes(p.bytes),
                ]),
              ]),
            );
          return EXIT.OK;
        }),
      ),
    );
}
