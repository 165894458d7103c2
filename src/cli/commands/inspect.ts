/** Read commands: `tasker status TASK_ID` and `tasker list`. Both take --json. */
import type { Command } from 'commander';
import { TASK_TIERS, type TaskTier } from '../../model/contracts.js';
import { TASK_STATES, type TaskState } from '../../model/states.js';
import type { StepTransition, TaskTransition } from '../../model/types.js';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import { type Output, paint, stateColour, table } from '../output.js';
import { renderTask } from '../progress.js';
import { type GlobalOptions, parseId, parseIntOption, withProject } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

function describeTransition(t: TaskTransition | StepTransition): string {
  const who = 'stepName' in t ? `step ${t.stepName}` : 'task';
  // Stacks are in --json; here they would drown the trail.
  const metadata = t.metadata ? { ...t.metadata } : null;
  if (metadata && typeof metadata.error === 'object' && metadata.error !== null) {
    const { stack: _stack, ...error } = metadata.error as Record<string, unknown>;
    metadata.error = error;
  }
  const meta = metadata && Object.keys(metadata).length > 0 ? `  ${JSON.stringify(metadata)}` : '';
  return `${t.createdAt.toISOString()}  ${who}: ${t.fromState ?? '(new)'} -> ${t.toState}${meta}`;
}

/** `tasker list`'s page size when --limit is not given. */
const LIST_LIMIT = 20;

export function registerInspect(program: Command, output: Output, run: Runner) {
  program
    .command('status')
    .description('show a task: its steps, their states, attempts and errors, and the audit trail')
    .argument('<taskId>', 'the task id')
    .option('--json', 'print as JSON')
    .option('--no-audit', 'leave out the audit trail')
    .addHelpText('after', '\nExamples:\n  $ tasker status 42\n  $ tasker status 42 --json | jq .steps')
    .action((id: string, options: { json?: boolean; audit: boolean }, command: Command) =>
      run(async () => {
        const taskId = parseId(id, 'TASK_ID');
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const task = await tasker.getTask(taskId);
          const auditTrail = options.audit ? await tasker.getAuditTrail(taskId) : [];
          if (options.json) {
            output.json({ ...task, ...(options.audit ? { auditTrail } : {}) });
            return EXIT.OK;
          }
          output.out(renderTask(task, output));
          for (const step of task.steps.filter((s) => s.lastError)) {
            output.out(
              `\n${paint(output, 'red', `${step.name}: ${step.lastError!.class}: ${step.lastError!.message}`)}`,
            );
          }
          if (options.audit) {
            output.out(`\n${paint(output, 'bold', 'audit trail')}`);
            for (const t of auditTrail) output.out(`  ${describeTransition(t)}`);
          }
          return EXIT.OK;
        });
      }),
    );

  program
    .command('list')
    .description('list tasks, newest first')
    .option('--state <state...>', `only tasks in these states (${TASK_STATES.join(', ')})`)
    .option('--namespace <ns>', 'only this namespace')
    .option('--name <name>', 'only this task name')
    .option('--tag <tag>', 'only tasks with this tag')
    .option('--parent <task-id>', 'only the child tasks of this task')
    .option(
      '--tier <tier...>',
      `which tasks: ${TASK_TIERS.join(', ')} (default: active and recent, the live tables)`,
    )
    .option('--limit <n>', 'at most this many (1-500)', String(LIST_LIMIT))
    .option('--cursor <cursor>', 'the next page: the "more:" line of a page, or nextCursor of --json')
    .option('--json', 'print as JSON ({ tasks, nextCursor })')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tasker list --state error\n  $ tasker list --tier archived --namespace ecommerce\n  $ tasker list --namespace ecommerce --limit 5 --json\n  $ tasker list --parent 42',
    )
    .action((options: Record<string, string | string[] | boolean | undefined>, command: Command) =>
      run(async () => {
        const limit =
          parseIntOption(options.limit as string | undefined, '--limit', { max: 500 }) ?? LIST_LIMIT;
        const parent = parseIntOption(options.parent as string | undefined, '--parent');
        const states = options.state as string[] | undefined;
        const tiers = options.tier as string[] | undefined;
        for (const tier of tiers ?? []) {
          if (!(TASK_TIERS as readonly string[]).includes(tier)) {
            throw new CliError(
              EXIT.USAGE,
              `--tier: unknown tier "${tier}"; expected one of ${TASK_TIERS.join(', ')}`,
            );
          }
        }
        for (const state of states ?? []) {
          if (!(TASK_STATES as readonly string[]).includes(state)) {
            throw new CliError(
              EXIT.USAGE,
              `--state: unknown state "${state}"; expected one of ${TASK_STATES.join(', ')}`,
            );
          }
        }
        return withProject(command.optsWithGlobals<GlobalOptions>(), {}, async ({ tasker }) => {
          const page = await tasker.listTasks({
            limit,
            ...(states ? { state: states as TaskState[] } : {}),
            ...(tiers ? { tier: tiers as TaskTier[] } : {}),
            ...(options.namespace ? { namespace: options.namespace as string } : {}),
            ...(options.name ? { name: options.name as string } : {}),
            ...(options.tag ? { tag: options.tag as string } : {}),
            ...(parent !== undefined ? { parentTaskId: parent } : {}),
            ...(options.cursor ? { cursor: options.cursor as string } : {}),
          });
          if (options.json) {
            output.json(page);
            return EXIT.OK;
          }
          if (page.tasks.length === 0) {
            output.out('no tasks');
            return EXIT.OK;
          }
          const rows = page.tasks.map((t) => [
            String(t.id),
            `${t.namespace}/${t.name}@${t.version}`,
            paint(output, stateColour(t.state), t.archivedAt ? `${t.state} (archived)` : t.state),
            `${t.stepCount}${t.failedSteps > 0 ? ` (${t.failedSteps} failed)` : ''}`,
            t.createdAt.toISOString(),
          ]);
          output.out(table([['ID', 'TASK', 'STATE', 'STEPS', 'CREATED'], ...rows]));
          if (page.nextCursor) {
            // The same filters again, so the hint continues this listing rather than starting another.
            const again: string[] = [];
            const add = (flag: string, values: string | readonly string[] | undefined) => {
              if (values !== undefined) again.push(flag, ...[values].flat().map(shellWord));
            };
            add('--state', states);
            add('--tier', tiers);
            add('--namespace', options.namespace as string | undefined);
            add('--name', options.name as string | undefined);
            add('--tag', options.tag as string | undefined);
            add('--parent', parent === undefined ? undefined : String(parent));
            if (limit !== LIST_LIMIT) add('--limit', String(limit));
            output.out(
              `more: ${['tasker list', ...again, '--cursor', shellWord(page.nextCursor)].join(' ')}`,
            );
          }
          return EXIT.OK;
        });
      }),
    );
}

/** A value as one word for a POSIX shell: as it is when plainly safe, else in single quotes. */
function shellWord(value: string): string {
  return /^[\w./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
