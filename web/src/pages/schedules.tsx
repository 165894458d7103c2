/** Schedules: every schedule with its timing, next fire times and last fire; pause, resume, run now. */
import { useState } from 'preact/hooks';
import type { Schedule } from '../api/types.js';
import { ErrorBanner } from '../components/ui.js';
import { useApi, useAsync } from '../hooks.js';
import { formatInterval, formatTime } from '../lib/format.js';
import { href } from '../lib/route.js';

const timing = (s: Schedule) =>
  s.cron ? `${s.cron} (${s.timezone})` : `every ${formatInterval(s.intervalMs ?? 0)}`;

export function SchedulesPage() {
  const api = useApi();
  const list = useAsync(() => api.schedules(), []);
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const act = async (s: Schedule, action: 'pause' | 'resume' | 'run') => {
    setActionError(null);
    try {
      const result = (await api.scheduleAction(s.name, action)) as { id?: number };
      setMessage(action === 'run' ? `${s.name}: task #${result.id} created` : `${s.name}: ${action}d`);
      list.reload();
    } catch (error) {
      setActionError(error);
    }
  };
  return (
    <div class="page">
      <h1>Schedules</h1>
      <p class="muted">
        Schedules create a task of a template on a clock; every worker fires them, each tick exactly once. Add
        them in the configuration file, with <code>tasker schedule add</code> or over the API.
      </p>
      <ErrorBanner error={list.error} title="Could not load the schedules" />
      <ErrorBanner error={actionError} title="The schedule could not be changed" />
      {message ? (
        <p role="status" class="notice">
          {message}
        </p>
      ) : null}
      {list.loading && !list.data ? <p>Loading…</p> : null}
      {list.data?.items.length === 0 ? <p class="muted">No schedules.</p> : null}
      {list.data && list.data.items.length > 0 ? (
        <table aria-label="Schedules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Task</th>
              <th scope="col">When</th>
              <th scope="col">Next</th>
              <th scope="col">Last fired</th>
              <th scope="col">Fires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.name} data-schedule={s.name}>
                <td>
                  {s.name}
                  {s.source === 'config' ? <span class="muted"> (config)</span> : null}
                </td>
                <td>{s.task}</td>
                <td>{timing(s)}</td>
                <td>
                  {s.paused ? <span class="badge state-cancelled">paused</span> : formatTime(s.upcoming[0])}
                </td>
                <td>
                  {s.lastTaskId ? (
                    <a href={href(`/tasks/${s.lastTaskId}`)}>{formatTime(s.lastFiredAt)}</a>
                  ) : (
                    <span class="muted">never</span>
                  )}
                </td>
                <td>
                  {s.fires}
                  {s.skippedTicks ? <span class="muted"> ({s.skippedTicks} skipped)</span> : null}
                </td>
                <td class="actions">
                  <button type="button" onClick={() => act(s, s.paused ? 'resume' : 'pause')}>
                    {s.paused ? 'Resume' : 'Pause'}
                  </button>{' '}
                  <button type="button" onClick={() => act(s, 'run')}>
                    Run now
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
