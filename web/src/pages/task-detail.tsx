/**
 * One task: its DAG (coloured by step state, critical path marked), a timeline of attempts from the audit
 * trail, the context, each step's inputs/results/errors, the audit trail, and the actions an operator can
 * take (each behind a confirmation). Reloads on the task's live events.
 */
import { useMemo, useState } from 'preact/hooks';
import { isStepTransition, type Step, type TaskWithSteps } from '../api/types.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DagGraph } from '../components/dag-graph.js';
import { TimelineChart } from '../components/timeline-chart.js';
import { ErrorBanner, JsonBlock, LiveIndicator, Section, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import { criticalPathOf } from '../lib/critical-path.js';
import { formatDuration, formatTime, humanState, sinceMs } from '../lib/format.js';
import { buildTimeline } from '../lib/timeline.js';

type Action =
  | { kind: 'cancel-task' }
  | { kind: 'retry-task' }
  | { kind: 'cancel-step'; step: Step }
  | { kind: 'retry-step'; step: Step }
  | { kind: 'resolve-step'; step: Step };

// A finished run is history: the server refuses to cancel it (409), so the page does not offer it.
const TASK_CANCELLABLE = new Set(['pending', 'in_progress']);
const STEP_CANCELLABLE = new Set(['pending', 'in_progress', 'waiting_for_retry']);
const STEP_RESOLVABLE = new Set(['pending', 'waiting_for_retry', 'error']);

export function TaskDetailPage({ id }: { id: number }) {
  const api = useApi();
  const task = useAsync(() => api.getTask(id, true), [id]);
  const audit = useAsync(() => api.getAudit(id), [id]);
  const [selected, setSelected] = useState<number | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const reload = useThrottled(() => {
    task.reload();
    audit.reload();
  }, 500);
  const status = useLive(`/tasks/${id}/events`, reload);

  if (!task.data) {
    return (
      <div class="page">
        <h1>Task #{id}</h1>
        <ErrorBanner error={task.error} title={`Could not load task ${id}`} />
        {task.loading ? <p>Loading…</p> : null}
      </div>
    );
  }
  const t = task.data;
  const step = t.steps.find((s) => s.id === selected) ?? null;
  const afterAction = () => {
    task.reload();
    audit.reload();
  };
  return (
    <div class="page" data-task-id={t.id} data-state={t.state}>
      <div class="page-head">
        <h1>
          Task #{t.id}{' '}
          <span class="muted">
            {t.namespace}/{t.name} v{t.version}
          </span>
        </h1>
        <StateBadge state={t.state} />
        <LiveIndicator status={status} />
        <div class="spacer" />
        {TASK_CANCELLABLE.has(t.state) ? (
          <button type="button" class="danger" onClick={() => setAction({ kind: 'cancel-task' })}>
            Cancel task
          </button>
        ) : null}
        {t.state === 'error' ? (
          <button type="button" onClick={() => setAction({ kind: 'retry-task' })}>
            Retry task
          </button>
        ) : null}
      </div>
      <ErrorBanner error={task.error} title="Could not refresh the task" />
      <TaskSummary task={t} />
      <TaskGraph task={t} audit={audit.data?.items ?? null} selected={selected} onSelect={setSelected} />
      {step ? (
        <StepPanel step={step} task={t} onAction={setAction} onClose={() => setSelected(null)} />
      ) : null}
      <StepsTable task={t} onSelect={setSelected} />
      <Section title="Context" id="context">
        <JsonBlock value={t.context} label="Task context" />
      </Section>
      <Section title="Audit trail" id="audit">
        <ErrorBanner error={audit.error} title="Could not load the audit trail" />
        {audit.data ? <AuditTable task={t} items={audit.data.items} /> : <p>Loading…</p>}
      </Section>
      {action ? (
        <ActionDialog action={action} task={t} onDone={afterAction} onClose={() => setAction(null)} />
      ) : null}
    </div>
  );
}

function TaskSummary({ task }: { task: TaskWithSteps }) {
  const now = Date.now();
  return (
    <dl class="summary">
      <dt>Created</dt>
      <dd>{formatTime(task.createdAt)}</dd>
      <dt>Started</dt>
      <dd>{formatTime(task.startedAt)}</dd>
      <dt>Finished</dt>
      <dd>{formatTime(task.completedAt)}</dd>
      <dt>Duration</dt>
      <dd>{formatDuration(sinceMs(task.startedAt, task.completedAt, now) ?? Number.NaN)}</dd>
      <dt>Steps</dt>
      <dd>
        {task.stepCount} ({task.unfinishedSteps} unfinished, {task.failedSteps} failed)
      </dd>
      <dt>Initiator</dt>
      <dd>{task.initiator ?? '–'}</dd>
      <dt>Reason</dt>
      <dd>{task.reason ?? '–'}</dd>
      <dt>Tags</dt>
      <dd>{task.tags.length ? task.tags.join(', ') : '–'}</dd>
    </dl>
  );
}

function TaskGraph({
  task,
  audit,
  selected,
  onSelect,
}: {
  task: TaskWithSteps;
  audit: Parameters<typeof buildTimeline>[0] | null;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const order = useMemo(() => [...task.steps].sort((a, b) => a.position - b.position), [task.steps]);
  const timeline = useMemo(() => (audit ? buildTimeline(audit, Date.now(), order) : null), [audit, order]);
  const path = useMemo(() => {
    const durations = new Map((timeline?.rows ?? []).map((r) => [r.stepId, r.spanMs]));
    return criticalPathOf(order, durations, task.dependencies?.criticalPath);
  }, [order, timeline, task.dependencies]);
  const nodes = useMemo(
    () =>
      order.map((s) => ({
        id: String(s.id),
        label: s.name,
        state: s.state,
        detail: `${humanState(s.state)}${s.totalAttempts > 1 ? ` · ${s.totalAttempts} attempts` : ''}`,
      })),
    [order],
  );
  const edges = useMemo(
    () => order.flatMap((s) => s.parentIds.map((p) => ({ from: String(p), to: String(s.id) }))),
    [order],
  );
  const critical = useMemo(() => new Set(path.stepIds.map(String)), [path]);
  const names = new Map(order.map((s) => [s.id, s.name]));
  return (
    <>
      <Section title="Step graph" id="graph">
        <DagGraph
          nodes={nodes}
          edges={edges}
          critical={critical}
          selected={selected === null ? null : String(selected)}
          onSelect={(sid) => onSelect(Number(sid))}
          label={`Steps of task ${task.id}`}
        />
        <p class="legend" data-critical-source={path.source}>
          <span class="key critical" /> Critical path
          {path.source === 'client'
            ? ' (estimated in the browser from recorded step durations)'
            : ' (from the server)'}
          : {path.stepIds.map((sid) => names.get(sid) ?? sid).join(' → ') || '–'}
          {path.durationMs > 0 ? `, ${formatDuration(path.durationMs)}` : ''}
        </p>
      </Section>
      <Section title="Timeline of attempts" id="timeline">
        {timeline ? <TimelineChart timeline={timeline} /> : <p>Loading…</p>}
      </Section>
    </>
  );
}

function StepsTable({ task, onSelect }: { task: TaskWithSteps; onSelect: (id: number) => void }) {
  return (
    <Section title="Steps" id="steps">
      <table class="steps">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {[...task.steps]
            .sort((a, b) => a.position - b.position)
            .map((s) => (
              <tr key={s.id} data-step={s.name} data-state={s.state}>
                <td>
                  <button type="button" class="link" onClick={() => onSelect(s.id)}>
                    {s.name}
                  </button>
                </td>
                <td>
                  <StateBadge state={s.state} />
                  {s.blocked ? <span class="muted"> blocked</span> : null}
                </td>
                <td>
                  {s.attempts}/{s.retryLimit}
                  {s.totalAttempts !== s.attempts ? (
                    <span class="muted"> ({s.totalAttempts} in all)</span>
                  ) : null}
                </td>
                <td>{formatTime(s.lastAttemptedAt)}</td>
                <td class="error-text">
                  {s.lastError ? `${s.lastError.class}: ${s.lastError.message}` : ''}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </Section>
  );
}

function StepPanel({
  step,
  task,
  onAction,
  onClose,
}: {
  step: Step;
  task: TaskWithSteps;
  onAction: (action: Action) => void;
  onClose: () => void;
}) {
  const names = new Map(task.steps.map((s) => [s.id, s.name]));
  return (
    <section
      class="card step-panel"
      aria-labelledby="step-title"
      data-step={step.name}
      data-state={step.state}
    >
      <div class="page-head">
        <h2 id="step-title">
          Step {step.name} <StateBadge state={step.state} />
        </h2>
        <div class="spacer" />
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
        <button type="button" onClick={onClose} aria-label="Close step details">
          ✕
        </button>
      </div>
      <dl class="summary">
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
        <dd>{step.workerId ?? '–'}</dd>
      </dl>
      <div class="columns">
        <div>
          <h3>Inputs</h3>
          <JsonBlock value={step.inputs} label="Step inputs" />
        </div>
        <div>
          <h3>Results</h3>
          <JsonBlock value={step.results} label="Step results" />
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
    </section>
  );
}

function AuditTable({ task, items }: { task: TaskWithSteps; items: Parameters<typeof buildTimeline>[0] }) {
  if (items.length === 0) return <p class="muted">No transitions recorded.</p>;
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
            <td class="meta">{entry.metadata ? JSON.stringify(entry.metadata) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ActionDialog({
  action,
  task,
  onDone,
  onClose,
}: {
  action: Action;
  task: TaskWithSteps;
  onDone: () => void;
  onClose: () => void;
}) {
  const api = useApi();
  const [reason, setReason] = useState('');
  const [results, setResults] = useState('{}');
  const [resultsError, setResultsError] = useState<string | null>(null);
  const reasonField = (
    <label class="block">
      Reason (recorded in the audit trail)
      <input value={reason} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
    </label>
  );
  const run = async (fn: () => Promise<unknown>) => {
    await fn();
    onDone();
  };
  switch (action.kind) {
    case 'cancel-task':
      return (
        <ConfirmDialog
          title={`Cancel task #${task.id}?`}
          confirmLabel="Cancel task"
          danger
          onClose={onClose}
          onConfirm={() => run(() => api.cancelTask(task.id, reason || undefined))}
        >
          <p>Running handlers are aborted and no further step starts. This cannot be undone.</p>
          {reasonField}
        </ConfirmDialog>
      );
    case 'retry-task':
      return (
        <ConfirmDialog
          title={`Retry task #${task.id}?`}
          confirmLabel="Retry task"
          onClose={onClose}
          onConfirm={() => run(() => api.retryTask(task.id, reason || undefined))}
        >
          <p>Steps that failed for good get a fresh set of attempts.</p>
          {reasonField}
        </ConfirmDialog>
      );
    case 'cancel-step':
      return (
        <ConfirmDialog
          title={`Cancel step ${action.step.name}?`}
          confirmLabel="Cancel step"
          danger
          onClose={onClose}
          onConfirm={() => run(() => api.cancelStep(task.id, action.step.id))}
        >
          <p>The step will not run again; steps below it cannot start.</p>
        </ConfirmDialog>
      );
    case 'retry-step':
      return (
        <ConfirmDialog
          title={`Retry step ${action.step.name}?`}
          confirmLabel="Retry step"
          onClose={onClose}
          onConfirm={() => run(() => api.retryStep(task.id, action.step.id))}
        >
          <p>The step goes back to pending with a fresh set of attempts.</p>
        </ConfirmDialog>
      );
    case 'resolve-step':
      return (
        <ConfirmDialog
          title={`Resolve step ${action.step.name} by hand?`}
          confirmLabel="Resolve step"
          onClose={onClose}
          onConfirm={() => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(results);
            } catch (error) {
              const message = `Results must be JSON: ${(error as Error).message}`;
              setResultsError(message);
              return Promise.reject(new Error(message));
            }
            setResultsError(null);
            return run(() => api.resolveStep(task.id, action.step.id, parsed, reason || undefined));
          }}
        >
          <p>The step is marked resolved with these results, and its children proceed.</p>
          <label class="block">
            Results (JSON)
            <textarea
              rows={6}
              value={results}
              aria-invalid={resultsError ? 'true' : undefined}
              onInput={(e) => setResults((e.currentTarget as HTMLTextAreaElement).value)}
            />
          </label>
          {reasonField}
        </ConfirmDialog>
      );
  }
}
