/** `tasker failures [FINGERPRINT]`: the dead-letter view, grouped by fingerprint with hints; one group's steps. */
import type { Command } from 'commander';
import type { FailureFilterInput } from '../../model/contracts.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import { type Output, paint } from '../output.js';
import { type GlobalOptions, parseIntOption, withProject } from '../project.js';
import { parseDuration, parseTime } from './run.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface FailuresOptions {
  since?: string;
  namespace?: string;
  limit?: string;
  json?: boolean;
}

/** --since: a duration back from now (24h, 7d) or an ISO 8601 time. */
function sinceOf(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value.trim()))
    return new Date(Date.now() - parseDuration(value, '--since'));
  return parseTime(value, '--since');
}

export function registerFailures(program: Command, output: Output, run: Runner) {
  program
    .command('failures')
    .description("steps that failed for good, grouped by fingerprint, with what to do; or one group's steps")
    .argument('[fingerprint]', 'show the failed steps of this group (from the list)')
    .option('--since <time>', 'only failures since then: a duration back from now (24h, 7d) or an ISO time')
    .option('--namespace <ns>', 'only this namespace')
    .option('--limit <n>', 'at most this many groups or steps (default 50, at most 500)')
    .option('--json', 'print the groups (or steps) as JSON')
    .addHelpText(
      'after',
      `
Each group is one problem: the same error class and code, the same message once ids and numbers are
taken out, from the same place in the handler's code. Its category (timeout, connection_refused,
http_4xx, handler_bug, ...) and hint come from documented rules (docs/diagnostics.md).

Examples:
  $ tasker failures --since 24h
  $ tasker failures 3fa85f6457c1 --limit 20
  $ tasker failures --namespace ecommerce --json`,
    )
    .action((fingerprint: string | undefined, options: FailuresOptions, command: Command) =>
      run(async () => {
        const limit = parseIntOption(options.limit, '--limit', { min: 1, max: 500 });
        const since = sinceOf(options.since);
        if (fingerprint !== undefined && !/^[\w:.-]{1,200}$/.test(fingerprint)) {
          throw new CliError(
            EXIT.USAGE,
            `"${fingerprint}" is not a fingerprint: expected one from \`tasker failures\``,
          );
        }
        const filter: FailureFilterInput = {
          ...(since ? { since } : {}),
          ...(options.namespace ? { namespace: options.namespace } : {}),
          ...(limit ? { limit } : {}),
        };
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          if (fingerprint !== undefined) {
            const steps = await tasker.failedSteps(fingerprint, filter);
            if (options.json) output.json(steps);
            else if (steps.length === 0)
              output.out(`no step failed for good with fingerprint ${fingerprint}`);
            else {
              output.out(`${steps.length} failed step(s) of ${fingerprint}, newest first:`);
              for (const s of steps) {
                output.out(
                  `  task ${s.taskId}  step #${s.stepId} ${s.namespace}/${s.name}@${s.version} ${s.step}  ${s.failedAt.toISOString()}  after ${s.attempts} attempt(s)`,
                );
                output.out(`    ${s.error.code ? `${s.error.code}: ` : ''}${s.error.message}`);
              }
              output.out('\nretry one: tasker retry TASK_ID');
            }
            return steps.length === 0 && !options.json ? EXIT.NOT_FOUND : EXIT.OK;
          }
          const groups = await tasker.failures(filter);
          if (options.json) {
            output.json(groups);
            return EXIT.OK;
          }
          if (groups.length === 0) {
            output.out(
              `no step has failed for good${since || options.namespace ? ' under this filter' : ''}`,
            );
            return EXIT.OK;
          }
          output.out(`${groups.length} failure group(s), largest first:`);
          for (const g of groups) {
            output.out('');
            output.out(
              `  ${paint(output, 'red', g.fingerprint)}  ${g.category}  ${g.steps} step(s) in ${g.tasks} task(s), last ${g.lastSeen.toISOString()}`,
            );
            const where = g.affected.map((a) => `${a.namespace}/${a.name}@${a.version} ${a.step}`);
            output.out(
              `    in ${where.slice(0, 3).join(', ')}${where.length > 3 ? ` and ${where.length - 3} more` : ''}`,
            );
            output.out(
              `    ${g.sample.class}${g.sample.code ? ` ${g.sample.code}` : ''}: ${g.sample.message} (task ${g.sampleTaskId})`,
            );
            output.out(`    hint: ${g.hint}`);
          }
          output.out('\nthe steps of a group: tasker failures FINGERPRINT');
          return EXIT.OK;
        });
      }),
    );
}
