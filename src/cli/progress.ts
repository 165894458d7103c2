/**
 * The live view of `tasker run`: one line for the task, one per step. Pure rendering; the command
 * redraws it in place on a terminal and prints it once at the end elsewhere.
 */
import type { Step, TaskWithSteps } from '../model/types.js';
import { type Output, paint, stateColour, table } from './output.js';

const SYMBOLS: Record<string, string> = {
  pending: '·',
  in_progress: '▶',
  complete: '✓',
  resolved_manually: '✓',
  error: '✗',
  cancelled: '⊘',
};

function stepDetail(step: Step): string {
  const attempts = `attempt ${Math.max(step.attempts, step.state === 'in_progress' ? 1 : 0)}/${step.retryLimit}`;
  if (step.state === 'error') {
    const code = step.lastError?.code ? ` [${step.lastError.code}]` : '';
    return `${attempts}  ${step.lastError?.message ?? ''}${code}`;
  }
  if (step.state === 'pending' && step.attempts > 0) {
    return `${attempts} failed, retrying${step.runAt ? ` at ${step.runAt.toISOString().slice(11, 19)}` : ''}: ${step.lastError?.message ?? ''}`;
  }
  if (step.state === 'pending') return step.blocked ? 'blocked by a failed step' : '';
  return step.state === 'complete' && step.attempts <= 1 ? '' : attempts;
}

export function renderTask(task: TaskWithSteps, output: Pick<Output, 'colour'>): string {
  const done = task.steps.filter((s) => s.state === 'complete' || s.state === 'resolved_manually').length;
  const head = `${paint(output, 'bold', `${task.namespace}/${task.name}@${task.version}`)}  task ${task.id}  ${paint(
    output,
    stateColour(task.state),
    task.state,
  )}  ${done}/${task.steps.length} steps done`;
  const rows = task.steps.map((s) => [
    `  ${paint(output, stateColour(s.state), SYMBOLS[s.state] ?? '?')} ${s.name}`,
    paint(output, stateColour(s.state), s.state),
    stepDetail(s),
  ]);
  return `${head}\n${table(rows)}`;
}

/** Redraws a block of lines in place (terminal only). */
export function createRedrawer(write: (text: string) => void) {
  let lines = 0;
  return (text: string) => {
    const clear = lines > 0 ? `\u001b[${lines}A\u001b[J` : '';
    write(`${clear}${text}\n`);
    lines = text.split('\n').length;
  };
}
