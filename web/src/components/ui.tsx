/** Small shared pieces: state badges, error banners, JSON blocks, the live indicator. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api/client.js';
import type { LiveStatus } from '../api/events.js';
import { humanState } from '../lib/format.js';

/** A state as a coloured badge; `label` gives the server's wording (e.g. "blocked by a failed step"). */
export function StateBadge({ state, label }: { state: string; label?: string }) {
  return (
    <span class={`badge state-${state}`} data-state={state}>
      {label ?? humanState(state)}
    </span>
  );
}

export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    const p = error.problem;
    const heading =
      error.status === 401
        ? 'Not signed in (401): set an access token'
        : error.status === 403
          ? 'Not allowed (403): your token lacks the permission for this'
          : (title ?? p.title ?? `Request failed (${error.status})`);
    return (
      <div class={`banner error${error.isAuth ? ' auth' : ''}`} role="alert" data-status={error.status}>
        <strong>{heading}</strong>
        {p.detail ? <p>{p.detail}</p> : null}
        {p.code ? <p class="muted">code {p.code}</p> : null}
        {p.errors?.length ? (
          <ul>
            {p.errors.map((e) => (
              <li key={e.path + e.message}>
                <code>{e.path || '(root)'}</code>: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }
  return (
    <div class="banner error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>{error instanceof Error ? error.message : String(error)}</p>
    </div>
  );
}

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2);
  return (
    <pre class="json" title={label}>
      {text}
    </pre>
  );
}

export function LiveIndicator({ status }: { status: LiveStatus }) {
  const text = status === 'live' ? 'live' : status === 'connecting' ? 'connecting…' : 'not live';
  return (
    <span class={`live live-${status}`} role="status" aria-live="polite" data-live={status}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export function Section({
  title,
  children,
  id,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
}) {
  return (
    <section class="card" id={id} aria-labelledby={id ? `${id}-title` : undefined}>
      <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      {children}
    </section>
  );
}
