/**
 * The live view of `tasker run`: one line for the task, one per step. Pure rendering; the command
 * redraws it in place on a terminal and prints it once at the end elsewhere.
 */
import type { StepState, TaskState } from '../model/states.js';
import type { Step, TaskWithSteps } from '../model/types.js';
import { type Output, paint, stateColour, table } from './output.js';

const SYMBOLS: Record<StepState | TaskState, string> = {
  pending: '·',
  in_progress: '▶',
  waiting_for_retry: '↻',
  complete: '✓',
  resolved_manually: '✓',
  skipped: '↷',
  error: '✗',
  cancelled: '⊘',
};

/** Steps that will not run again: counted as done in the head line. */
const DONE: ReadonlySet<string> = new Set(['complete', 'resolved_manually', 'skipped']);
/** Longest rendering of a step's results in the table. */
const MAX_RESULTS = 60;

function resultsText(results: unknown): string {
  if (results === null || results === undefined) return '';
  const text = JSON.stringify(results) ?? '';
  return text.length > MAX_RESULTS ? `${text.slice(0, MAX_RESULTS - 1)}…` : text;
}

const clock = (at: Date) => at.toISOString().slice(11, 19);

function stepDetail(step: Step): string {
  const attempts = `attempt ${Math.max(step.attempts, step.state === 'in_progress' ? 1 : 0)}/${step.retryLimit}`;
  if (step.state === 'error') {
    const code = step.lastError?.code ? ` [${step.lastError.code}]` : '';
    return `${attempts}  ${step.lastError?.message ?? ''}${code}`;
  }
  if ((step.state === 'waiting_for_retry' || step.state === 'pending') && step.attempts > 0) {
    return `${attempts} failed, retrying${step.runAt ? ` at ${clock(step.runAt)} UTC` : ''}: ${step.lastError?.message ?? ''}`;
  }
  if (step.state === 'pending') return step.blocked ? 'blocked by a failed step' : '';
  if (step.state === 'skipped') return 'skipped';
  const results = step.state === 'complete' ? resultsText(step.results) : '';
  const tries = step.state === 'complete' && step.attempts <= 1 ? '' : attempts;
  return [tries, results].filter(Boolean).join('  ');
}

export function renderTask(task: TaskWithSteps, output: Pick<Output, 'colour'>): string {
  const done = task.steps.filter((s) => DONE.has(s.state)).length;
  const head = `${paint(output, 'bold', `${task.namespace}/${task.name}@${task.version}`)}  task ${task.id}  ${paint(
    output,
    stateColour(task.state),
    task.state,
  )}  ${done}/${task.steps.length} steps done${
    task.archivedAt ? `  (archived ${task.archivedAt.toISOString()}: read-only)` : ''
  }`;
  // The step id is what `tasker resolve` and `tasker retry` take.
  const rows = task.steps.map((s) => [
    `  ${paint(output, stateColour(s.state), SYMBOLS[s.state])} ${s.name}`,
    `#${s.id}`,
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
