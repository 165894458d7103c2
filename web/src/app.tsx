/** The shell: navigation, the access-token form, the auth banner and the routed page. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ApiClient, ApiError, TokenStore } from './api/client.js';
import { ApiContext } from './hooks.js';
import { parseRoute, type Route } from './lib/route.js';
import { CreateTaskPage } from './pages/create-task.js';
import { FailuresPage } from './pages/failures.js';
import { OverviewPage } from './pages/overview.js';
import { SchedulesPage } from './pages/schedules.js';
import { TaskDetailPage } from './pages/task-detail.js';
import { TaskListPage } from './pages/task-list.js';
import { TemplatesPage } from './pages/templates.js';

function useRoute(): Route {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return useMemo(() => parseRoute(hash), [hash]);
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'tasks':
      return <TaskListPage query={route.query} />;
    case 'task':
      // Keyed by id: another task starts with nothing selected.
      return <TaskDetailPage key={route.id} id={route.id} />;
    case 'templates':
      return <TemplatesPage namespace={route.namespace} name={route.name} version={route.version} />;
    case 'new':
      return <CreateTaskPage query={route.query} />;
    case 'failures':
      return <FailuresPage fingerprint={route.fingerprint} />;
    case 'schedules':
      return <SchedulesPage />;
    case 'not-found':
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="#/">Go to the overview</a>.
          </p>
        </div>
      );
  }
}

export function App({ api, tokens }: { api: ApiClient; tokens: TokenStore }) {
  const route = useRoute();
  const [authError, setAuthError] = useState<ApiError | null>(null);
  const [showToken, setShowToken] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => api.onAuthError((error) => setAuthError(error)), [api]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves to the page on every route change
  useEffect(() => {
    const main = document.getElementById('main');
    main?.focus({ preventScroll: true });
  }, [route]);
  const hasToken = !!tokens.get();
  const active = (page: Route['page']) => (route.page === page ? 'page' : undefined);

  return (
    <ApiContext.Provider value={api}>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/">
          Tasker
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={active('overview')}>
            Overview
          </a>
          <a
            href="#/tasks"
            aria-current={route.page === 'tasks' || route.page === 'task' ? 'page' : undefined}
          >
            Tasks
          </a>
          <a href="#/templates" aria-current={active('templates')}>
            Templates
          </a>
          <a href="#/failures" aria-current={active('failures')}>
            Failures
          </a>
          <a href="#/schedules" aria-current={active('schedules')}>
            Schedules
          </a>
          <a href="#/new" aria-current={active('new')}>
            New task
          </a>
        </nav>
        <div class="spacer" />
        <button type="button" onClick={() => setShowToken((v) => !v)} aria-expanded={showToken}>
          {hasToken ? 'Token set' : 'Access token'}
        </button>
      </header>
      {showToken || authError?.status === 401 ? (
        <TokenForm
          tokens={tokens}
          error={authError}
          onSaved={() => {
            setShowToken(false);
            setAuthError(null);
            setGeneration((g) => g + 1);
          }}
        />
      ) : null}
      {authError?.status === 403 ? (
        <div class="banner error auth" role="alert" data-status="403">
          <strong>Not allowed (403)</strong>: your token lacks a permission this page needs.{' '}
          {authError.problem.detail}
          <button type="button" onClick={() => setAuthError(null)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <main id="main" tabIndex={-1} key={generation}>
        <Page route={route} />
      </main>
    </ApiContext.Provider>
  );
}

function TokenForm({
  tokens,
  error,
  onSaved,
}: {
  tokens: TokenStore;
  error: ApiError | null;
  onSaved: () => void;
}) {
  const [value, setValue] = useState(tokens.get() ?? '');
  return (
    <form
      class="card token-form"
      aria-label="Access token"
      onSubmit={(e) => {
        e.preventDefault();
        tokens.set(value.trim() || null);
        onSaved();
      }}
    >
      {error?.status === 401 ? (
        <p role="alert" class="error-text" data-status="401">
          <strong>Not signed in (401).</strong> This server requires a bearer token. {error.problem.detail}
        </p>
      ) : null}
      <label class="block">
        Access token (a JWT; kept in this browser's local storage, sent as a Bearer token)
        <input
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <button type="submit" class="primary">
        Save token
      </button>{' '}
      <button
        type="button"
        onClick={() => {
          tokens.set(null);
          setValue('');
          onSaved();
        }}
      >
        Forget token
      </button>
    </form>
  );
}
