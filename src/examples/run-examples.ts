/**
 * Runs the example workflows on a Tasker and narrates them: registers the templates (unless already
 * registered), creates a few tasks, shows live progress, then prints each task's final state, step
 * results and audit trail. On a TTY the progress block is redrawn in place; otherwise each step state
 * change is printed as a plain line (logs, CI, a test reading a pipe).
 *
 * Progress comes from polling the tasks (it works whichever process runs the steps), woken early by
 * this process's event bus when a local worker reports something.
 */
import type { CreateTaskRequest } from '../engine/create-tasks.js';
import { TaskerError } from '../errors.js';
import type { StepTransition, TaskTransition, TaskWithSteps } from '../model/types.js';
import type { Tasker } from '../tasker.js';
import type { Worker } from '../worker/worker.js';
import { EXAMPLE_TEMPLATES } from './workflows.js';

/** Where the narration goes (process.stdout fits). */
export interface ExampleOutput {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface RunExamplesOptions {
  readonly output: ExampleOutput;
  /** Start a worker in this process for the examples (stopped at the end). @defaultValue true */
  readonly startWorker?: boolean;
  /** Aborting stops waiting (Ctrl-C): the worker stops and the result says interrupted. */
  readonly signal?: AbortSignal;
  /** Give up waiting after this long. @defaultValue 120000 */
  readonly timeoutMs?: number;
  /** How often progress is refreshed at most. @defaultValue 150 */
  readonly refreshMs?: number;
}

export interface ExamplesResult {
  /** Every example task as it ended (or stood when interrupted). */
  readonly tasks: readonly TaskWithSteps[];
  /** True when every task completed. */
  readonly ok: boolean;
  readonly interrupted: boolean;
}

/** The tasks the examples create. */
export const EXAMPLE_REQUESTS: readonly CreateTaskRequest[] = [
  {
    namespace: 'ecommerce',
    name: 'order_processing',
    context: {
      cartId: 1,
      customer: 'alice@example.com',
      couponPercent: 10,
      items: [
        { sku: 'KB-01', quantity: 1, price: 89.9 },
        { sku: 'MS-07', quantity: 2, price: 24.5 },
      ],
    },
    initiator: 'npm start',
    reason: 'example order',
  },
  {
    namespace: 'ecommerce',
    name: 'order_processing',
    context: { cartId: 2, customer: 'bob@example.com', items: [{ sku: 'MON-27', quantity: 1, price: 329 }] },
    initiator: 'npm start',
    reason: 'example order',
  },
  {
    namespace: 'examples',
    name: 'diamond',
    context: { value: 7 },
    initiator: 'npm start',
    reason: 'example diamond',
  },
];

const FINAL = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);

const SYMBOLS: Record<string, string> = {
  pending: '·',
  in_progress: '▶',
  waiting_for_retry: '↻',
  complete: '✓',
  resolved_manually: '✓',
  skipped: '-',
  error: '✗',
  cancelled: '⊘',
};
const COLORS: Record<string, string> = {
  in_progress: '\x1b[36m',
  waiting_for_retry: '\x1b[33m',
  complete: '\x1b[32m',
  resolved_manually: '\x1b[32m',
  error: '\x1b[31m',
  cancelled: '\x1b[90m',
};

function registerExamples(tasker: Tasker): void {
  for (const template of EXAMPLE_TEMPLATES) {
    try {
      tasker.template(template.namespace, template.name, template.version);
    } catch (error) {
      if (!(error instanceof TaskerError) || error.code !== 'TASKER_UNKNOWN_TASK') throw error;
      tasker.register(template);
    }
  }
}

const label = (task: TaskWithSteps) => `task ${task.id} ${task.namespace}/${task.name}`;
const seconds = (from: Date, to: Date) => `+${((to.getTime() - from.getTime()) / 1000).toFixed(3)}s`;

/** Runs the examples and narrates them on `options.output`. */
export async function runExamples(tasker: Tasker, options: RunExamplesOptions): Promise<ExamplesResult> {
  const { output, signal } = options;
  const tty = options.output.isTTY === true;
  const paint = (state: string, text: string) =>
    tty && COLORS[state] ? `${COLORS[state]}${text}\x1b[0m` : text;
  const refreshMs = options.refreshMs ?? 150;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);

  registerExamples(tasker);
  let worker: Worker | null = null;
  if (options.startWorker ?? true) {
    worker = await tasker.startWorker({
      concurrency: 4,
      namespaces: [...new Set(EXAMPLE_TEMPLATES.map((t) => t.namespace))],
      name: 'examples',
    });
  }

  // Wake the refresh loop early when the local worker reports progress.
  let wake: (() => void) | null = null;
  const unsubscribe = [
    tasker.events.on('step.*', () => wake?.()),
    tasker.events.on('task.*', () => wake?.()),
  ];
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);

  const tasks = new Map<number, TaskWithSteps>();
  try {
    const created = await tasker.createTasks(EXAMPLE_REQUESTS);
    output.write(
      `Created ${created.length} tasks: ${created.map((t) => `#${t.id} ${t.namespace}/${t.name}`).join(', ')}\n\n`,
    );

    // ---------------------------------------------------------------- live progress
    const seen = new Map<number, string>(); // step id -> state last printed (plain mode)
    let drawnLines = 0;
    const render = () => {
      const list = created.map((c) => tasks.get(c.id)).filter((t): t is TaskWithSteps => !!t);
      if (tty) {
        const lines = list.map((task) => {
          const steps = task.steps
            .map((s) =>
              paint(
                s.state,
                `${SYMBOLS[s.state] ?? '?'} ${s.name}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}`,
              ),
            )
            .join('  ');
          return `${label(task).padEnd(38)} ${paint(task.state, task.state.padEnd(12))} ${steps}`;
        });
        // Move up over the previous block, clear it, draw the new one.
        output.write(`${drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[J` : ''}${lines.join('\n')}\n`);
        drawnLines = lines.length;
        return;
      }
      for (const task of list) {
        for (const step of task.steps) {
          const before = seen.get(step.id);
          if (before === step.state) continue;
          seen.set(step.id, step.state);
          if (before === undefined && step.state === 'pending') continue;
          const why =
            step.state === 'waiting_for_retry' && step.lastError
              ? ` (${step.lastError.class}: ${step.lastError.message})`
              : '';
          output.write(
            `${label(task)}: ${step.name} ${before ?? 'pending'} -> ${step.state}${step.attempts > 1 ? ` (attempt ${step.attempts})` : ''}${why}\n`,
          );
        }
      }
    };

    for (;;) {
      for (const c of created) {
        const known = tasks.get(c.id);
        if (!known || !FINAL.has(known.state)) tasks.set(c.id, await tasker.getTask(c.id));
      }
      render();
      if ([...tasks.values()].every((t) => FINAL.has(t.state))) break;
      if (signal?.aborted || Date.now() > deadline) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, refreshMs);
        wake = () => {
          clearTimeout(timer);
          // Let a burst of events settle into one refresh.
          setTimeout(resolve, 20);
        };
      });
      wake = null;
    }

    const interrupted = signal?.aborted ?? false;
    if (interrupted) {
      output.write('\nInterrupted: stopping the worker; unfinished steps are released for the next run.\n');
      // Stop first, so that the report shows the released steps rather than steps still running.
      if (worker) await worker.stop({ timeoutMs: 2000 });
      for (const c of created) tasks.set(c.id, await tasker.getTask(c.id));
    }
    const list = created.map((c) => tasks.get(c.id)!);
    if (!interrupted && !list.every((t) => FINAL.has(t.state))) {
      output.write('\nGave up waiting: some tasks did not finish in time.\n');
    }

    // ---------------------------------------------------------------- final report
    output.write('\n');
    for (const task of list) await report(tasker, task, output, paint);
    const ok = list.every((t) => t.state === 'complete');
    if (!interrupted) {
      output.write(
        ok
          ? `All ${list.length} example tasks complete.\n`
          : `Not every example task completed: ${list
              .filter((t) => t.state !== 'complete')
              .map((t) => `#${t.id} ${t.state}`)
              .join(', ')}\n`,
      );
    }
    return { tasks: list, ok, interrupted };
  } finally {
    for (const off of unsubscribe) off();
    signal?.removeEventListener('abort', onAbort);
    if (worker) await worker.stop({ timeoutMs: signal?.aborted ? 2000 : undefined });
  }
}

async function report(
  tasker: Tasker,
  task: TaskWithSteps,
  output: ExampleOutput,
  paint: (state: string, text: string) => string,
): Promise<void> {
  const took = task.completedAt
    ? ` in ${((task.completedAt.getTime() - task.createdAt.getTime()) / 1000).toFixed(2)} s`
    : '';
  output.write(
    `Task ${task.id} ${task.namespace}/${task.name}@${task.version}: ${paint(task.state, task.state)}${took}\n`,
  );
  output.write('  Steps:\n');
  const width = Math.max(...task.steps.map((s) => s.name.length));
  for (const step of task.steps) {
    const result =
      step.state === 'complete' || step.state === 'resolved_manually'
        ? JSON.stringify(step.results)
        : step.lastError
          ? `${step.lastError.class}: ${step.lastError.message}`
          : '';
    output.write(
      `    ${step.name.padEnd(width)}  ${paint(step.state, step.state.padEnd(17))} attempts ${step.attempts}  ${result}\n`,
    );
  }
  output.write('  Audit trail:\n');
  const trail = await tasker.getAuditTrail(task.id);
  for (const t of trail)
    output.write(
      `    ${seconds(task.createdAt, t.createdAt).padStart(9)}  ${describeTransition(t, task.createdAt)}\n`,
    );
  output.write('\n');
}

function describeTransition(t: TaskTransition | StepTransition, origin: Date): string {
  const who = 'stepName' in t ? `step ${t.stepName}` : 'task';
  const m = (t.metadata ?? {}) as {
    reason?: unknown;
    attempt?: unknown;
    error?: { class?: unknown; message?: unknown };
    retry_at?: unknown;
  };
  const details: string[] = [];
  if (typeof m.attempt === 'number') details.push(`attempt ${m.attempt}`);
  if (m.error && typeof m.error === 'object')
    details.push(`${String(m.error.class)}: ${String(m.error.message)}`);
  if (typeof m.retry_at === 'string') details.push(`retry at ${seconds(origin, new Date(m.retry_at))}`);
  if (typeof m.reason === 'string') details.push(m.reason);
  return `${who}: ${t.fromState ?? '(new)'} -> ${t.toState}${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
}
