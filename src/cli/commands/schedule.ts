/** `tasker schedule add|list|show|pause|resume|remove|run`: schedules that create tasks on a clock. */
import type { Command } from 'commander';
import type { Schedule } from '../../engine/schedules.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type GlobalOptions, parseIntOption, readJsonArgument, withProject } from '../project.js';
import { parseDuration } from './run.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface AddOptions {
  task: string;
  cron?: string;
  every?: string;
  timezone?: string;
  context?: string;
  catchUp?: string;
  catchUpLimit?: string;
  paused?: boolean;
  json?: boolean;
}

const when = (s: Schedule) =>
  s.cron
    ? `cron "${s.cron}" ${s.timezone}`
    : `every ${s.intervalMs! % 1000 === 0 ? `${s.intervalMs! / 1000}s` : `${s.intervalMs}ms`}`;

function describe(output: Output, s: Schedule): void {
  output.out(
    `${s.name}: ${s.task}, ${when(s)}${s.paused ? ' (paused)' : ''}${s.source === 'config' ? ' [config]' : ''}`,
  );
  output.out(
    `  fired ${s.fires} time(s)${s.lastFiredAt ? `, last ${s.lastFiredAt.toISOString()} (task ${s.lastTaskId})` : ''}${s.skippedTicks ? `, ${s.skippedTicks} tick(s) skipped` : ''}; catch-up ${s.catchUp}${s.catchUp === 'all' ? ` (up to ${s.catchUpLimit})` : ''}`,
  );
  if (s.upcoming.length > 0) output.out(`  next: ${s.upcoming.map((d) => d.toISOString()).join(', ')}`);
}

export function registerSchedule(program: Command, output: Output, run: Runner) {
  const schedule = program
    .command('schedule')
    .description('schedules that create a task of a template on a clock (cron or an interval)')
    .addHelpText(
      'after',
      `
Workers fire schedules (each tick creates exactly one task however many workers run). Schedules
declared in the configuration file (schedules:) are reconciled when a worker or server starts.

Examples:
  $ tasker schedule add nightly-report --task reports/daily@1.0.0 --cron "0 2 * * *" --timezone Europe/Paris --context '{"region":"eu"}'
  $ tasker schedule add heartbeat --task ops/ping --every 30s
  $ tasker schedule list
  $ tasker schedule run nightly-report`,
    );

  const simple = (
    name: 'pause' | 'resume' | 'remove' | 'show' | 'run',
    description: string,
    act: (
      tasker: Awaited<Parameters<Parameters<typeof withProject>[2]>[0]>['tasker'],
      schedule: string,
      json: boolean,
    ) => Promise<void>,
  ) =>
    schedule
      .command(name)
      .description(description)
      .argument('<name>', 'the schedule')
      .option('--json', 'print the result as JSON')
      .action((scheduleName: string, options: { json?: boolean }, command: Command) =>
        run(() =>
          withProject(
            command.optsWithGlobals<GlobalOptions>(),
            { workflows: name === 'run' },
            async ({ tasker }) => {
              await act(tasker, scheduleName, options.json === true);
              return EXIT.OK;
            },
          ),
        ),
      );

  schedule
    .command('add')
    .description('add a schedule, or change the one with that name')
    .argument('<name>', 'a name for it: letters, digits, - _ . :')
    .requiredOption('--task <ns/name[@version]>', 'the template of the tasks it creates')
    .option('--cron <expression>', 'a cron expression: 5 fields, or 6 with seconds first ("0 2 * * *")')
    .option('--every <duration>', 'or a fixed interval: 30s, 15m, 2h, 1d')
    .option('--timezone <tz>', 'the IANA time zone of --cron (default UTC)')
    .option('--context <json>', "the tasks' context: JSON, or @file.json")
    .option('--catch-up <policy>', 'missed ticks: skip (default), once, or all')
    .option('--catch-up-limit <n>', 'with --catch-up all: at most this many (default 10)')
    .option('--paused', 'add it paused')
    .option('--json', 'print the schedule as JSON')
    .action((name: string, options: AddOptions, command: Command) =>
      run(async () => {
        if ((options.cron === undefined) === (options.every === undefined)) {
          throw new CliError(EXIT.USAGE, 'give either --cron EXPRESSION or --every DURATION');
        }
        if (options.catchUp !== undefined && !['skip', 'once', 'all'].includes(options.catchUp)) {
          throw new CliError(EXIT.USAGE, `--catch-up must be skip, once or all, got "${options.catchUp}"`);
        }
        const catchUpLimit = parseIntOption(options.catchUpLimit, '--catch-up-limit', { min: 1, max: 1000 });
        const context = readJsonArgument(options.context, '--context');
        return withProject(
          command.optsWithGlobals<GlobalOptions>(),
          { workflows: true },
          async ({ tasker }) => {
            const added = await tasker.addSchedule({
              name,
              task: options.task,
              ...(options.cron
                ? { cron: options.cron }
                : { intervalMs: parseDuration(options.every!, '--every') }),
              ...(options.timezone ? { timezone: options.timezone } : {}),
              ...(context === undefined ? {} : { context: context as Record<string, unknown> }),
              ...(options.catchUp ? { catchUp: options.catchUp as 'skip' | 'once' | 'all' } : {}),
              ...(catchUpLimit ? { catchUpLimit } : {}),
              ...(options.paused ? { paused: true } : {}),
            });
            if (options.json) output.json(added);
            else describe(output, added);
            return EXIT.OK;
          },
        );
      }),
    );

  schedule
    .command('list')
    .description('every schedule with its next fire times')
    .option('--upcoming <n>', 'next fire times to show (default 3)')
    .option('--json', 'print the schedules as JSON')
    .action((options: { upcoming?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const upcoming = parseIntOption(options.upcoming, '--upcoming', { min: 0, max: 100 }) ?? 3;
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const list = await tasker.listSchedules({ upcoming });
          if (options.json) output.json(list);
          else if (list.length === 0) output.out('no schedules');
          else for (const s of list) describe(output, s);
          return EXIT.OK;
        });
      }),
    );

  simple('show', 'one schedule with its recent fires', async (tasker, name, json) => {
    const s = await tasker.getSchedule(name);
    if (json) return output.json(s);
    describe(output, s);
    for (const f of s.recentFires) {
      output.out(
        `  ${f.manual ? 'run now' : 'tick'} ${f.tickAt.toISOString()} -> task ${f.taskId} (fired ${f.firedAt.toISOString()})`,
      );
    }
  });
  simple(
    'pause',
    'stop firing it (ticks missed meanwhile follow its catch-up policy on resume)',
    async (tasker, name, json) => {
      const s = await tasker.pauseSchedule(name);
      return json ? output.json(s) : output.out(`${name}: paused`);
    },
  );
  simple('resume', 'fire it again', async (tasker, name, json) => {
    const s = await tasker.resumeSchedule(name);
    return json
      ? output.json(s)
      : output.out(`${name}: resumed, next ${s.upcoming[0]?.toISOString() ?? 'none'}`);
  });
  simple('remove', 'remove it (tasks it created stay)', async (tasker, name, json) => {
    await tasker.removeSchedule(name);
    return json ? output.json({ removed: name }) : output.out(`${name}: removed`);
  });
  simple('run', 'create its task now (its timing stays as it is)', async (tasker, name, json) => {
    const task = await tasker.runScheduleNow(name);
    return json ? output.json(task) : output.out(`${name}: task ${task.id} created`);
  });
}
