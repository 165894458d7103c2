/**
 * The steps of a task: a table with each step's state (in the server's words: "blocked by a failed
 * step"), attempts, worker and result or error (expandable in place), the panel of the selected step
 * (shown beside the graph), and the audit trail.
 */
import { type AuditEntry, isStepTransition, type Step, type TaskWithSteps } from '../api/types.js';
import {
  batchProgress,
  batchWorkers,
  childTaskOf,
  compensationLabel,
  describeProgress,
} from '../lib/batches.js';
import { formatDuration, formatTime, humanState } from '../lib/format.js';
import { JsonBlock, StateBadge } from './ui.js';

export type StepAction =
  | { kind: 'cancel-step'; step: Step }
  | { kind: 'retry-step'; step: Step }
  | { kind: 'resolve-step'; step: Step };

const STEP_CANCELLABLE = new Set(['pending', 'in_progress', 'waiting_for_retry']);
const STEP_RESOLVABLE = new Set(['pending', 'waiting_for_retry', 'error']);

/** The step's state as the server words it (older servers: the raw state, "blocked" added). */
export function displayStateOf(step: Step): { state: string; label: string } {
  const state = step.displayState ?? (step.state === 'pending' && step.blocked ? 'blocked' : step.state);
  return {
    state,
    label: step.stateLabel ?? (state === 'blocked' ? 'blocked by a failed step' : humanState(state)),
  };
}

/** The worker as people know it: its name (host:pid), the id only when the name is unknown. */
export function WorkerName({ step }: { step: Pick<Step, 'workerId' | 'workerName'> }) {
  if (!step.workerId) return <>–</>;
  return <span title={`worker ${step.workerId}`}>{step.workerName ?? step.workerId}</span>;
}

/** One line of JSON, cut short; the whole value opens below it. */
function ResultCell({ step }: { step: Step }) {
  if (step.lastError && step.state !== 'complete' && step.state !== 'resolved_manually') {
    return (
      <span class="error-text">
        {step.lastError.class}: {step.lastError.message}
      </span>
    );
  }
  if (step.results === null || step.results === undefined) return <span class="muted">–</span>;
  const line = JSON.stringify(step.results);
  if (line.length <= 60) return <code class="result-line">{line}</code>;
  return (
    <details class="result">
      <summary>
        <code class="result-line">{`${line.slice(0, 57)}…`}</code>
      </summary>
      <JsonBlock value={step.results} label={`Results of ${step.name}`} />
    </details>
  );
}

export function StepsTable({
  task,
  selected,
  onSelect,
}: {
  task: TaskWithSteps;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const groups = batchWorkers(task.steps);
  return (
    <table class="steps">
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Worker</th>
          <th scope="col">Result or error</th>
        </tr>
      </thead>
      <tbody>
        {[...task.steps]
          .filter((s) => s.batchParentId == null)
          .sort((a, b) => a.position - b.position)
          .flatMap((s) => {
            const workers = groups.get(s.id);
            const row = <StepRow key={s.id} step={s} selected={selected === s.id} onSelect={onSelect} />;
            if (!workers) return [row];
            return [
              row,
              <tr key={`${s.id}-workers`} class="batch-workers" data-batch={s.name}>
                <td colSpan={5}>
                  <BatchWorkers workers={workers} selected={selected} onSelect={onSelect} />
                </td>
              </tr>,
            ];
          })}
      </tbody>
    </table>
  );
}

function StepRow({
  step: s,
  selected,
  onSelect,
}: {
  step: Step;
  selected: boolean;
  onSelect: (id: number) => void;
}) {
  const shown = displayStateOf(s);
  const role = compensationLabel(s);
  return (
    <tr data-step={s.name} data-state={shown.state} class={selected ? 'selected' : undefined}>
      <td>
        <button type="button" class="link" onClick={() => onSelect(s.id)}>
          {s.name}
        </button>
        {role ? <span class="muted tag"> {role}</span> : null}
      </td>
      <td>
        <StateBadge state={shown.state} label={shown.label} />
      </td>
      <td>
        {s.attempts}/{s.retryLimit}
        {s.totalAttempts !== s.attempts ? <span class="muted"> ({s.totalAttempts} in all)</span> : null}
      </td>
      <td>
        <WorkerName step={s} />
      </td>
      <td class="result-cell">
        <ResultCell step={s} />
      </td>
    </tr>
  );
}

/** Most worker rows listed under a batch; the count and progress cover them all. */
const MAX_LISTED_WORKERS = 200;

/** A batch step's workers: a count and progress, the rows themselves folded away. */
function BatchWorkers({
  workers,
  selected,
  onSelect,
}: {
  workers: readonly Step[];
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const progress = batchProgress(workers);
  const listed = workers.slice(0, MAX_LISTED_WORKERS);
  return (
    <details data-workers={progress.total} open={listed.some((w) => w.id === selected)}>
      <summary>
        <progress max={progress.total} value={progress.done} aria-label="Batch progress" />{' '}
        <span data-batch-progress>{describeProgress(progress)}</span>
      </summary>
      <table class="steps batch">
        <tbody>
          {listed.map((w) => (
            <StepRow key={w.id} step={w} selected={selected === w.id} onSelect={onSelect} />
          ))}
        </tbody>
      </table>
      {workers.length > listed.length ? (
        <p class="muted">and {workers.length - listed.length} more workers</p>
      ) : null}
    </details>
  );
}

/** What the step waits for, with since and until when known. */
function WaitingFor({ step }: { step: Step }) {
  const wait = step.waiting;
  if (!wait) return null;
  return (
    <>
      <dt>Waiting for</dt>
      <dd data-waiting={wait.for}>
        {wait.for === 'child' && wait.taskId !== null ? (
          <a href={`#/tasks/${wait.taskId}`}>child task #{wait.taskId}</a>
        ) : (
          displayStateOf(step).label
        )}
        {wait.since ? <span class="muted"> since {formatTime(wait.since)}</span> : null}
        {wait.until ? <span class="muted">, at the latest until {formatTime(wait.until)}</span> : null}
      </dd>
    </>
  );
}

export function StepPanel({
  step,
  task,
  onAction,
  onClose,
}: {
  step: Step;
  task: TaskWithSteps;
  onAction: (action: StepAction) => void;
  onClose: () => void;
}) {
  const names = new Map(task.steps.map((s) => [s.id, s.name]));
  const shown = displayStateOf(step);
  return (
    <section
      class="card step-panel"
      aria-labelledby="step-title"
      data-step={step.name}
      data-state={shown.state}
    >
      <div class="page-head">
        <h2 id="step-title">
          Step {step.name} <StateBadge state={shown.state} label={shown.label} />
        </h2>
        <div class="spacer" />
        <button type="button" onClick={onClose} aria-label="Close step details">
          ✕
        </button>
      </div>
      {task.archivedAt ? null : (
        <div class="row step-actions">
          <button
            type="button"
            disabled={step.state !== 'error'}
            onClick={() => onAction({ kind: 'retry-step', step })}
          >
            Retry step
          </button>
          <button
            type="button"
            disabled={!STEP_RESOLVABLE.has(step.state)}
            onClick={() => onAction({ kind: 'resolve-step', step })}
          >
            Resolve with results…
          </button>
          <button
            type="button"
            class="danger"
            disabled={!STEP_CANCELLABLE.has(step.state)}
            onClick={() => onAction({ kind: 'cancel-step', step })}
          >
            Cancel step
          </button>
        </div>
      )}
      <div class="step-json">
        <div>
          <h3>Results</h3>
          <JsonBlock value={step.results} label="Step results" />
        </div>
        <div>
          <h3>Inputs</h3>
          <JsonBlock value={step.inputs} label="Step inputs" />
        </div>
      </div>
      {step.lastError ? (
        <div class="step-error">
          <h3>Last error</h3>
          <p>
            <strong>{step.lastError.class}</strong>
            {step.lastError.code ? ` (${step.lastError.code})` : ''}: {step.lastError.message}
          </p>
          {step.lastError.stack ? <pre class="json">{step.lastError.stack}</pre> : null}
        </div>
      ) : null}
      <dl class="summary">
        <WaitingFor step={step} />
        {childTaskOf(step) !== null ? (
          <>
            <dt>Child task</dt>
            <dd>
              <a href={`#/tasks/${childTaskOf(step)}`}>#{childTaskOf(step)}</a>
            </dd>
          </>
        ) : null}
        {compensationLabel(step) ? (
          <>
            <dt>Compensation</dt>
            <dd>{compensationLabel(step)}</dd>
          </>
        ) : null}
        {step.batchParentId != null ? (
          <>
            <dt>Batch</dt>
            <dd>
              item {step.batchIndex} of {names.get(step.batchParentId) ?? step.batchParentId}
            </dd>
          </>
        ) : null}
        <dt>Parents</dt>
        <dd>{step.parentIds.map((p) => names.get(p) ?? p).join(', ') || '–'}</dd>
        <dt>Children</dt>
        <dd>{step.childIds.map((c) => names.get(c) ?? c).join(', ') || '–'}</dd>
        <dt>Attempts</dt>
        <dd>
          {step.attempts} of {step.retryLimit} ({step.totalAttempts} in all)
          {step.retryable ? '' : ', not retryable'}
        </dd>
        <dt>Timeout</dt>
        <dd>{step.timeoutMs ? formatDuration(step.timeoutMs) : 'none'}</dd>
        <dt>Next run</dt>
        <dd>{formatTime(step.runAt)}</dd>
        <dt>Completed</dt>
        <dd>{formatTime(step.completedAt)}</dd>
        <dt>Worker</dt>
        <dd>
          <WorkerName step={step} />
        </dd>
      </dl>
    </section>
  );
}

/** Audit metadata as shown: the worker by name (as everywhere else) instead of its id. */
function describeMetadata(entry: AuditEntry, workers: ReadonlyMap<string, string>): string {
  const metadata = entry.metadata;
  if (!metadata) return '';
  const { worker_id: workerId, ...rest } = metadata;
  const name =
    (isStepTransition(entry) ? entry.workerName : null) ??
    (typeof workerId === 'string' ? workers.get(workerId) : undefined);
  const shown = workerId === undefined ? rest : name ? { ...rest, worker: name } : metadata;
  return JSON.stringify(shown);
}

export function AuditTable({ task, items }: { task: TaskWithSteps; items: readonly AuditEntry[] }) {
  if (items.length === 0) return <p class="muted">No transitions recorded.</p>;
  const workers = new Map(
    task.steps.flatMap((s) => (s.workerId && s.workerName ? [[s.workerId, s.workerName] as const] : [])),
  );
  return (
    <table class="audit">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {items.map((entry) => (
          <tr
            key={`${isStepTransition(entry) ? `s${entry.stepId}` : 't'}-${entry.sortKey}-${entry.createdAt}`}
          >
            <td>{formatTime(entry.createdAt)}</td>
            <td>{isStepTransition(entry) ? `step ${entry.stepName}` : `task #${task.id}`}</td>
            <td>{entry.fromState ? humanState(entry.fromState) : '–'}</td>
            <td>
              <StateBadge state={entry.toState} />
            </td>
            <td class="meta">{describeMetadata(entry, workers)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
