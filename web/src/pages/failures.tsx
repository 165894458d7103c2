/** Failures: steps that failed for good, grouped by fingerprint with category and hint; one group's steps. */
import { useState } from 'preact/hooks';
import type { FailureGroup } from '../api/types.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorBanner, Section } from '../components/ui.js';
import { useApi, useAsync } from '../hooks.js';
import { formatTime } from '../lib/format.js';
import { href } from '../lib/route.js';

export function FailuresPage({ fingerprint }: { fingerprint?: string }) {
  const api = useApi();
  const groups = useAsync(() => api.failures(), []);
  const selected = groups.data?.items.find((g) => g.fingerprint === fingerprint);
  return (
    <div class="page">
      <h1>Failures</h1>
      <p class="muted">
        Steps that failed for good, grouped by fingerprint: the same error from the same place, whatever the
        ids and numbers in its message. Each group says what kind of failure it is and what to do about it.
      </p>
      <ErrorBanner error={groups.error} title="Could not load the failures" />
      {groups.loading && !groups.data ? <p>Loading…</p> : null}
      {groups.data?.items.length === 0 ? <p class="muted">No step has failed for good.</p> : null}
      {groups.data && groups.data.items.length > 0 ? (
        <table class="failure-groups" aria-label="Failure groups">
          <thead>
            <tr>
              <th scope="col">Fingerprint</th>
              <th scope="col">Category</th>
              <th scope="col">Steps</th>
              <th scope="col">Tasks</th>
              <th scope="col">Where</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {groups.data.items.map((g) => (
              <tr key={g.fingerprint} aria-current={g.fingerprint === fingerprint ? 'true' : undefined}>
                <td>
                  <a href={href(`/failures/${encodeURIComponent(g.fingerprint)}`)}>
                    <code>{g.fingerprint}</code>
                  </a>
                </td>
                <td>
                  <span class="badge" data-category={g.category}>
                    {g.category.replaceAll('_', ' ')}
                  </span>
                </td>
                <td>{g.steps}</td>
                <td>{g.tasks}</td>
                <td>
                  {g.affected
                    .slice(0, 2)
                    .map((a) => `${a.namespace}/${a.name} ${a.step}`)
                    .join(', ')}
                  {g.affected.length > 2 ? ` +${g.affected.length - 2}` : ''}
                </td>
                <td>{formatTime(g.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {fingerprint && groups.data && !selected ? (
        <p class="muted">No failure group has the fingerprint {fingerprint}.</p>
      ) : null}
      {selected ? <GroupDetail group={selected} onChanged={groups.reload} /> : null}
    </div>
  );
}

function GroupDetail({ group, onChanged }: { group: FailureGroup; onChanged: () => void }) {
  const api = useApi();
  const steps = useAsync(() => api.failedSteps(group.fingerprint), [group.fingerprint]);
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  return (
    <Section title={`Group ${group.fingerprint}`} id="failure-group">
      <p class="hint" data-rule={group.hintRule}>
        <strong>What to do:</strong> {group.hint}
      </p>
      <p>
        <button type="button" onClick={() => setConfirming(true)}>
          Retry these {group.tasks} task(s)…
        </button>
      </p>
      {done ? (
        <p role="status" class="notice">
          {done}
        </p>
      ) : null}
      {confirming ? (
        <ConfirmDialog
          title={`Retry ${group.tasks} task(s) of group ${group.fingerprint}?`}
          confirmLabel="Retry them"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            const report = await api.bulk('retry', {
              filter: { fingerprint: group.fingerprint },
              reason: reason.trim() || `retry of failure group ${group.fingerprint}`,
            });
            setDone(`${report.changed} of ${report.matched} task(s) retried`);
            onChanged();
          }}
        >
          <p>
            Their failed steps get a fresh set of attempts. The reason is kept in each task's audit trail.
          </p>
          <label class="block">
            Reason
            <input value={reason} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
          </label>
        </ConfirmDialog>
      ) : null}
      <p>
        <code>
          {group.sample.class}
          {group.sample.code ? ` ${group.sample.code}` : ''}: {group.sample.message}
        </code>
      </p>
      <p class="muted">
        First seen {formatTime(group.firstSeen)}, last {formatTime(group.lastSeen)}.
      </p>
      <ErrorBanner error={steps.error} title="Could not load the group's steps" />
      {steps.data ? (
        <table aria-label="Failed steps">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Template</th>
              <th scope="col">Step</th>
              <th scope="col">Attempts</th>
              <th scope="col">Failed</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {steps.data.items.map((s) => (
              <tr key={s.stepId}>
                <td>
                  <a href={href(`/tasks/${s.taskId}`)}>#{s.taskId}</a>
                </td>
                <td>
                  {s.namespace}/{s.name}@{s.version}
                </td>
                <td>{s.step}</td>
                <td>{s.attempts}</td>
                <td>{formatTime(s.failedAt)}</td>
                <td>{s.error.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Loading…</p>
      )}
    </Section>
  );
}
