/**
 * One task: its DAG (coloured by step state, critical path marked) with the selected step's results and
 * actions beside it, the steps with their results or errors, a timeline of attempts from the audit
 * trail, the context, the audit trail, and the actions an operator can take (each behind a
 * confirmation). Reloads on the task's live events.
 */
import { useMemo, useState } from 'preact/hooks';
import type { TaskWithSteps } from '../api/types.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DagGraph } from '../components/dag-graph.js';
import {
  AuditTable,
  displayStateOf,
  type StepAction,
  StepPanel,
  StepsTable,
} from '../components/step-details.js';
import { TimelineChart } from '../components/timeline-chart.js';
import { ErrorBanner, JsonBlock, LiveIndicator, Section, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import {
  batchProgress,
  batchWorkers,
  childTaskOf,
  compensationLabel,
  describeProgress,
} from '../lib/batches.js';
import { criticalPathOf } from '../lib/critical-path.js';
import { formatDuration, formatTime, sinceMs } from '../lib/format.js';
import { buildTimeline } from '../lib/timeline.js';

type Action = { kind: 'cancel-task' } | { kind: 'retry-task' } | StepAction;

// A finished run is history: the server refuses to cancel it (409), so the page does not offer it.
const TASK_CANCELLABLE = new Set(['pending', 'in_progress']);

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
        {t.archivedAt ? (
          <span class="badge archived" title="Moved into the archive by retention: read-only">
            archived
          </span>
        ) : (
          <LiveIndicator status={status} />
        )}
        <div class="spacer" />
        {TASK_CANCELLABLE.has(t.state) && !t.archivedAt ? (
          <button type="button" class="danger" onClick={() => setAction({ kind: 'cancel-task' })}>
            Cancel task
          </button>
        ) : null}
        {t.state === 'error' && !t.archivedAt ? (
          <button type="button" onClick={() => setAction({ kind: 'retry-task' })}>
            Retry task
          </button>
        ) : null}
      </div>
      <ErrorBanner error={task.error} title="Could not refresh the task" />
      <TaskSummary task={t} />
      <div class={`graph-and-step${step ? ' with-step' : ''}`}>
        <TaskGraph task={t} audit={audit.data?.items ?? null} selected={selected} onSelect={setSelected} />
        {step ? (
          <StepPanel step={step} task={t} onAction={setAction} onClose={() => setSelected(null)} />
        ) : null}
      </div>
      <Section title="Steps" id="steps">
        <StepsTable task={t} selected={selected} onSelect={setSelected} />
      </Section>
      <Section title="Timeline of attempts" id="timeline">
        <Timeline task={t} audit={audit.data?.items ?? null} />
      </Section>
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
      {task.archivedAt ? (
        <>
          <dt>Archived</dt>
          <dd data-archived-at={task.archivedAt}>{formatTime(task.archivedAt)} (read-only)</dd>
        </>
      ) : null}
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
      {task.parentTaskId != null ? (
        <>
          <dt>Parent task</dt>
          <dd data-parent-task={task.parentTaskId}>
            <a href={`#/tasks/${task.parentTaskId}`}>#{task.parentTaskId}</a>
            {task.parentStepId != null ? <span class="muted"> (step {task.parentStepId})</span> : null}
          </dd>
        </>
      ) : null}
      <ChildTasks task={task} />
    </dl>
  );
}

/** The tasks this task's steps started (child workflows), with their states. */
function ChildTasks({ task }: { task: TaskWithSteps }) {
  const api = useApi();
  // Only a task with a step that started a child has any; the others skip the request.
  const started = task.steps.some((s) => s.waiting?.for === 'child' || childTaskOf(s) !== null);
  const children = useAsync(
    () =>
      started
        ? api.listTasks({ parentTaskId: task.id, limit: 100 })
        : Promise.resolve({ items: [], nextCursor: null }),
    [task.id, started, task.updatedAt],
  );
  const items = children.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <>
      <dt>Child tasks</dt>
      <dd data-child-tasks={items.length}>
        {items.map((c, i) => (
          <span key={c.id}>
            {i > 0 ? ', ' : ''}
            <a href={`#/tasks/${c.id}`}>#{c.id}</a> <StateBadge state={c.state} />
          </span>
        ))}
      </dd>
    </>
  );
}

type Audit = Parameters<typeof buildTimeline>[0];

function useTimeline(task: TaskWithSteps, audit: Audit | null) {
  const order = useMemo(() => [...task.steps].sort((a, b) => a.position - b.position), [task.steps]);
  const timeline = useMemo(() => (audit ? buildTimeline(audit, Date.now(), order) : null), [audit, order]);
  return { order, timeline };
}

function TaskGraph({
  task,
  audit,
  selected,
  onSelect,
}: {
  task: TaskWithSteps;
  audit: Audit | null;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const { order, timeline } = useTimeline(task, audit);
  const path = useMemo(() => {
    // The browser's own estimate (when the server sends no analysis): steps that ran, first attempt to last.
    const ran = (timeline?.rows ?? []).filter((r) => r.segments.length > 0);
    const durations = new Map(ran.map((r) => [r.stepId, r.spanMs]));
    // Compensation ran after the task failed, and batch workers hang off no edge: neither is on the path.
    const pathSteps = order.filter((s) => s.compensation == null && s.batchParentId == null);
    return criticalPathOf(pathSteps, durations, task.dependencies?.criticalPath);
  }, [order, timeline, task.dependencies]);
  // Batch workers are drawn as their batch step's progress, not as a node each.
  const drawn = useMemo(() => order.filter((s) => s.batchParentId == null), [order]);
  const nodes = useMemo(() => {
    const groups = batchWorkers(order);
    return drawn.map((s) => {
      const shown = displayStateOf(s);
      const workers = groups.get(s.id);
      const role = compensationLabel(s);
      return {
        id: String(s.id),
        label: s.name,
        state: shown.state,
        detail: [
          shown.label,
          s.totalAttempts > 1 ? `${s.totalAttempts} attempts` : null,
          workers ? describeProgress(batchProgress(workers)) : null,
          role,
        ]
          .filter(Boolean)
          .join(' · '),
      };
    });
  }, [order, drawn]);
  const edges = useMemo(
    () => drawn.flatMap((s) => s.parentIds.map((p) => ({ from: String(p), to: String(s.id) }))),
    [drawn],
  );
  const critical = useMemo(() => new Set(path.stepIds.map(String)), [path]);
  const names = new Map(order.map((s) => [s.id, s.name]));
  const unfinished = task.dependencies?.criticalPath?.estimated ?? [];
  return (
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
        <span class="key critical" /> Critical path, the chain of steps that decided how long the task took
        {path.source === 'client' ? ' (estimated in the browser from recorded attempts)' : ''}:{' '}
        <span data-critical-path>{path.stepIds.map((sid) => names.get(sid) ?? sid).join(' → ') || '–'}</span>
        {path.durationMs > 0 ? `, ${formatDuration(path.durationMs)}` : ''}
        {unfinished.length > 0 ? ` (still running or not run yet: ${unfinished.join(', ')})` : ''}
      </p>
      {selected === null ? (
        <p class="muted hint">Select a step (in the graph or the table) to see its results and actions.</p>
      ) : null}
    </Section>
  );
}

function Timeline({ task, audit }: { task: TaskWithSteps; audit: Audit | null }) {
  const { timeline } = useTimeline(task, audit);
  return timeline ? <TimelineChart timeline={timeline} /> : <p>Loading…</p>;
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
