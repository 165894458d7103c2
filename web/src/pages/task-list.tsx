/**
 * Task list: filters (kept in the URL so a view can be shared), search by id, cursor paging, and live
 * state changes from the event stream patched into the rows without reloading.
 */
import { useState } from 'preact/hooks';
import type { TaskFilter } from '../api/client.js';
import { TASK_STATES, type Task, type TaskState } from '../api/types.js';
import { ErrorBanner, LiveIndicator, StateBadge } from '../components/ui.js';
import { useApi, useAsync, useLive, useThrottled } from '../hooks.js';
import { formatTime, humanState } from '../lib/format.js';
import { href } from '../lib/route.js';

const FILTER_KEYS = [
  'tier',
  'state',
  'namespace',
  'name',
  'version',
  'tag',
  'createdAfter',
  'createdBefore',
  'sort',
] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** datetime-local values are local times; the API wants ISO instants. */
function toIso(local: string | null): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function TaskListPage({ query }: { query: URLSearchParams }) {
  const api = useApi();
  const [cursors, setCursors] = useState<string[]>([]);
  const [live, setLive] = useState<ReadonlyMap<number, TaskState>>(new Map());
  const [searchId, setSearchId] = useState('');
  const [searchError, setSearchError] = useState<string | null>(null);
  const key = query.toString();
  const cursor = cursors[cursors.length - 1];
  const filter: TaskFilter = {
    tier: query.get('tier') ?? undefined,
    state: query.get('state') ?? undefined,
    namespace: query.get('namespace') ?? undefined,
    name: query.get('name') ?? undefined,
    version: query.get('version') ?? undefined,
    tag: query.get('tag') ?? undefined,
    createdAfter: toIso(query.get('createdAfter')),
    createdBefore: toIso(query.get('createdBefore')),
    sort: query.get('sort') === 'createdAt' ? 'createdAt' : '-createdAt',
    limit: 25,
    cursor,
  };
  const page = useAsync(() => api.listTasks(filter), [key, cursor]);
  const reload = useThrottled(() => {
    setLive(new Map());
    page.reload();
  }, 1000);
  const status = useLive('/events', (event) => {
    if (event.kind === 'resync') return reload();
    if (event.kind !== 'task') return;
    const shown = page.data?.items.some((t) => t.id === event.id);
    if (shown) setLive((m) => new Map(m).set(event.id, event.state));
    else if (!cursor) reload(); // a new task may belong on the first page
  });

  const applyFilters = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Record<string, string | undefined> = {};
    for (const k of FILTER_KEYS) next[k] = String(form.get(k) ?? '').trim() || undefined;
    setCursors([]);
    window.location.hash = href('/tasks', next);
  };
  const search = async (event: Event) => {
    event.preventDefault();
    setSearchError(null);
    if (!/^[1-9][0-9]{0,15}$/.test(searchId.trim())) {
      setSearchError('A task id is a positive whole number.');
      return;
    }
    window.location.hash = `#/tasks/${searchId.trim()}`;
  };
  // The fields are uncontrolled and the form is keyed by the URL: a live refresh re-rendering the page
  // must not put back the applied values over what the user is choosing; a new URL (Apply, Clear, a link)
  // starts the form afresh from it.
  const value = (k: FilterKey) => query.get(k) ?? '';
  const options = (k: FilterKey, choices: readonly (readonly [string, string])[], fallback = '') =>
    choices.map(([v, label]) => (
      <option key={v} value={v} selected={(value(k) || fallback) === v}>
        {label}
      </option>
    ));

  return (
    <div class="page">
      <div class="page-head">
        <h1>Tasks</h1>
        <LiveIndicator status={status} />
      </div>
      <div class="toolbar">
        <form key={key} class="filters" onSubmit={applyFilters} aria-label="Filter tasks">
          <label title="Live tasks by default; archived ones are those retention moved into the archive">
            Tier
            <select name="tier">
              {options('tier', [
                ['', 'active and recent'],
                ['active', 'active (unfinished)'],
                ['recent', 'recent (finished, live)'],
                ['archived', 'archived'],
                ['all', 'all'],
              ])}
            </select>
          </label>
          <label>
            State
            <select name="state">
              {options('state', [['', 'any'], ...TASK_STATES.map((s) => [s, humanState(s)] as const)])}
            </select>
          </label>
          <label>
            Namespace <input name="namespace" defaultValue={value('namespace')} size={12} />
          </label>
          <label>
            Name <input name="name" defaultValue={value('name')} size={14} />
          </label>
          <label>
            Version <input name="version" defaultValue={value('version')} size={7} />
          </label>
          <label>
            Tag <input name="tag" defaultValue={value('tag')} size={10} />
          </label>
          <label>
            Created after{' '}
            <input type="datetime-local" name="createdAfter" defaultValue={value('createdAfter')} />
          </label>
          <label>
            Created before{' '}
            <input type="datetime-local" name="createdBefore" defaultValue={value('createdBefore')} />
          </label>
          <label>
            Order
            <select name="sort">
              {options(
                'sort',
                [
                  ['-createdAt', 'newest first'],
                  ['createdAt', 'oldest first'],
                ],
                '-createdAt',
              )}
            </select>
          </label>
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={(event) => {
              setCursors([]);
              // Unapplied choices go too, also when no filter was applied (the URL, then, does not change).
              (event.currentTarget as HTMLButtonElement).form?.reset();
              window.location.hash = '#/tasks';
            }}
          >
            Clear
          </button>
        </form>
        <form class="search" onSubmit={search} aria-label="Find a task by id">
          <label>
            Task id
            <input
              name="id"
              inputMode="numeric"
              value={searchId}
              onInput={(e) => setSearchId((e.currentTarget as HTMLInputElement).value)}
              size={8}
              aria-invalid={searchError ? 'true' : undefined}
            />
          </label>
          <button type="submit">Open</button>
          {searchError ? (
            <span class="field-error" role="alert">
              {searchError}
            </span>
          ) : null}
        </form>
      </div>
      <ErrorBanner error={page.error} title="Could not list tasks" />
      {page.data ? <TaskTable tasks={page.data.items} live={live} /> : page.loading ? <p>Loading…</p> : null}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          ← Newer
        </button>
        <span class="muted">page {cursors.length + 1}</span>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next) setCursors((c) => [...c, next]);
          }}
        >
          Older →
        </button>
      </nav>
    </div>
  );
}

function TaskTable({ tasks, live }: { tasks: readonly Task[]; live: ReadonlyMap<number, TaskState> }) {
  if (tasks.length === 0) return <p class="muted">No tasks match these filters.</p>;
  return (
    <table class="tasks">
      <thead>
        <tr>
          <th scope="col">Id</th>
          <th scope="col">Template</th>
          <th scope="col">State</th>
          <th scope="col">Steps</th>
          <th scope="col">Tags</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((task) => {
          const state = live.get(task.id) ?? task.state;
          return (
            <tr key={task.id} data-task-id={task.id} data-state={state}>
              <td>
                <a href={`#/tasks/${task.id}`}>#{task.id}</a>
              </td>
              <td>
                {task.namespace}/{task.name} <span class="muted">v{task.version}</span>
              </td>
              <td>
                <StateBadge state={state} />
                {task.archivedAt ? <span class="badge archived">archived</span> : null}
              </td>
              <td>
                {task.stepCount}
                {task.unfinishedSteps > 0 ? (
                  <span class="muted"> · {task.unfinishedSteps} to run</span>
                ) : null}
                {task.failedSteps > 0 ? <span class="error-text"> · {task.failedSteps} failed</span> : null}
              </td>
              <td>{task.tags.join(', ')}</td>
              <td>{formatTime(task.createdAt)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
