/** `tasker bulk retry|resolve|cancel`: an operation for everything a filter matches, counted first. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { BulkAction } from '../../engine/bulk-operations.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type GlobalOptions, parseIntOption, readJsonArgument, withProject } from '../project.js';
import { parseDuration, parseTime } from './run.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface BulkOptions {
  fingerprint?: string;
  task?: string;
  step?: string;
  since?: string;
  until?: string;
  reason: string;
  results?: string;
  limit?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

const WHAT: Record<BulkAction, string> = {
  retry: 'task(s) retried',
  resolve: 'step(s) resolved',
  cancel: 'task(s) cancelled',
};

/** A duration back from now (24h) or an ISO time. */
function timeOf(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value.trim()))
    return new Date(Date.now() - parseDuration(value, flag));
  return parseTime(value, flag);
}

export function registerBulk(program: Command, output: Output, run: Runner) {
  const bulk = program
    .command('bulk')
    .description(
      'retry, resolve or cancel everything a filter matches (a failure group, a template, a step)',
    );
  for (const action of ['retry', 'resolve', 'cancel'] as const) {
    bulk
      .command(action)
      .description(
        action === 'retry'
          ? 'retry the tasks whose steps failed for good and match'
          : action === 'resolve'
            ? 'resolve the steps that failed for good and match, with --results'
            : 'cancel the unfinished tasks that match',
      )
      .requiredOption('--reason <text>', "why: kept in every affected task's audit trail")
      .option('--fingerprint <f>', 'a failure group (tasker failures)')
      .option('--task <ns[/name]>', 'a namespace, or one template of it')
      .option('--step <name>', 'a step name')
      .option('--since <time>', 'from then: a duration back from now (24h) or an ISO time')
      .option('--until <time>', 'before then')
      .option('--limit <n>', 'change at most this many (default 10000)')
      .option('--dry-run', 'count what would change; change nothing')
      .option('--yes', 'change without asking: otherwise only the count is shown')
      .option('--json', 'print the report as JSON')
      .option(
        '--results <json>',
        action === 'resolve' ? 'what the resolved steps return: JSON, or @file.json' : '(resolve only)',
      )
      .addHelpText(
        'after',
        `\nExamples:\n  $ tasker failures\n  $ tasker bulk ${action} --fingerprint 3fa85f6457c1 --reason "payments API back up" --dry-run\n  $ tasker bulk ${action} --fingerprint 3fa85f6457c1 --reason "payments API back up" --yes`,
      )
      .action((options: BulkOptions, command: Command) =>
        run(async () => {
          const [namespace, name, extra] = options.task?.split('/') ?? [];
          if (options.task !== undefined && (!namespace || name === '' || extra !== undefined)) {
            throw new CliError(
              EXIT.USAGE,
              `--task expects NAMESPACE or NAMESPACE/NAME, got "${options.task}"`,
            );
          }
          const limit = parseIntOption(options.limit, '--limit', { min: 1, max: 100_000 });
          const results = action === 'resolve' ? readJsonArgument(options.results, '--results') : undefined;
          if (action === 'resolve' && results === undefined) {
            throw new CliError(
              EXIT.USAGE,
              'bulk resolve needs --results JSON: what the resolved steps return',
            );
          }
          const filter = {
            ...(options.fingerprint ? { fingerprint: options.fingerprint } : {}),
            ...(namespace ? { namespace } : {}),
            ...(name ? { name } : {}),
            ...(options.step ? { step: options.step } : {}),
            ...(options.since ? { since: timeOf(options.since, '--since')! } : {}),
            ...(options.until ? { until: timeOf(options.until, '--until')! } : {}),
          };
          if (Object.keys(filter).length === 0) {
            throw new CliError(
              EXIT.USAGE,
              'give at least one of --fingerprint, --task, --step, --since, --until',
            );
          }
          const dryRun = options.dryRun === true || options.yes !== true;
          return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
            const report = await tasker.bulk(action, {
              filter,
              reason: options.reason,
              requestedBy: `${userInfo().username} (tasker CLI)`,
              ...(results === undefined ? {} : { results }),
              ...(limit ? { limit } : {}),
              dryRun,
            });
            if (options.json) output.json(report);
            else if (report.dryRun) {
              output.out(
                `${report.matched} ${WHAT[action].replace(/ \w+$/, '')} would be ${WHAT[action].split(' ').at(-1)} (dry run: nothing changed)`,
              );
              if (!options.dryRun && report.matched > 0) output.out('run again with --yes to do it');
            } else {
              output.out(`${report.changed} of ${report.matched} ${WHAT[action]} in ${report.durationMs} ms`);
              for (const f of report.failed) output.out(`  ${f.id}: ${f.code}: ${f.message}`);
            }
            return EXIT.OK;
          });
        }),
      );
  }
}
