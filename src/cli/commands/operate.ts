/** Operator commands: `tasker cancel`, `tasker retry`, `tasker resolve`. */
import type { Command } from 'commander';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type GlobalOptions, parseId, readJsonArgument, withProject } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

export function registerOperate(program: Command, output: Output, run: Runner) {
  const report = (json: boolean | undefined, what: Record<string, unknown>, text: string) =>
    json ? output.json(what) : output.out(text);

  program
    .command('cancel')
    .description('cancel a task: nothing more starts, running handlers see their signal aborted')
    .argument('<taskId>', 'the task id')
    .option('--reason <text>', 'kept in the audit trail')
    .option('--json', 'print { taskId, state } as JSON')
    .addHelpText('after', '\nExamples:\n  $ tasker cancel 42 --reason "customer withdrew"')
    .action((id: string, options: { reason?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const taskId = parseId(id, 'TASK_ID');
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const state = await tasker.cancelTask(taskId, options.reason ? { reason: options.reason } : {});
          report(options.json, { taskId, state }, `task ${taskId}: ${state}`);
          return EXIT.OK;
        });
      }),
    );

  program
    .command('retry')
    .description('retry a task in error: its failed steps get a fresh set of attempts')
    .argument('<taskId>', 'the task id')
    .option('--reason <text>', 'kept in the audit trail')
    .option('--json', 'print { taskId, state } as JSON')
    .addHelpText(
      'after',
      '\nThe steps run on whatever worker serves the namespace (`tasker worker`, or the next `tasker run` on\nthe embedded database).\n\nExamples:\n  $ tasker retry 42',
    )
    .action((id: string, options: { reason?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const taskId = parseId(id, 'TASK_ID');
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const state = await tasker.retryTask(taskId, options.reason ? { reason: options.reason } : {});
          report(options.json, { taskId, state }, `task ${taskId}: ${state}`);
          return EXIT.OK;
        });
      }),
    );

  program
    .command('resolve')
    .description('complete a step by hand with the given results, so the steps after it can run')
    .argument('<stepId>', 'the step id (see `tasker status TASK_ID --json`)')
    .requiredOption('--results <json>', 'the step results: JSON, or @file.json')
    .option('--reason <text>', 'kept in the audit trail')
    .option('--json', 'print { stepId, taskState } as JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  $ tasker resolve 317 --results '{"reserved": true}' --reason "reserved by phone"`,
    )
    .action((id: string, options: { results: string; reason?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const stepId = parseId(id, 'STEP_ID');
        const results = readJsonArgument(options.results, '--results');
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const state = await tasker.resolveStep(
            stepId,
            results,
            options.reason ? { reason: options.reason } : {},
          );
          report(options.json, { stepId, taskState: state }, `step ${stepId} resolved; task: ${state}`);
          return EXIT.OK;
        });
      }),
    );

  program
    .command('signal')
    .description('send a named signal to a task: a step waiting for it ends its wait (docs/workflows.md)')
    .argument('<taskId>', 'the task id')
    .argument('<name>', 'the signal name the step waits for')
    .option('--payload <json>', 'what the waiting step returns: JSON, or @file.json')
    .option('--json', 'print { taskId, name, signalId } as JSON')
    .addHelpText('after', `\nExamples:\n  $ tasker signal 42 approved --payload '{"by": "ada"}'`)
    .action((id: string, name: string, options: { payload?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const taskId = parseId(id, 'TASK_ID');
        const payload = options.payload === undefined ? null : readJsonArgument(options.payload, '--payload');
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const { signalId } = await tasker.signal(taskId, name, payload);
          report(options.json, { taskId, name, signalId }, `signal ${name} sent to task ${taskId}`);
          return EXIT.OK;
        });
      }),
    );
}
