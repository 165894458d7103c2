/**
 * Create a task from a template: pick the template (without a version in the address, the latest one,
 * as the server chooses it), fill in the context (prefilled with an example built from the template's
 * schema, and checked as you type against it), confirm, and land on the new task.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { exampleFromSchema } from '../../../src/definitions/example-from-schema.js';
import type { TemplateDetail } from '../api/types.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorBanner, JsonBlock } from '../components/ui.js';
import { useApi, useAsync } from '../hooks.js';
import { contextChecker } from '../lib/context-check.js';
import { href } from '../lib/route.js';

export function CreateTaskPage({ query }: { query: URLSearchParams }) {
  const api = useApi();
  const index = useAsync(() => api.handlers(), []);
  const namespace = query.get('namespace') ?? '';
  const name = query.get('name') ?? '';
  const version = query.get('version') ?? '';
  const options = (index.data?.namespaces ?? []).flatMap((ns) =>
    ns.templates.map((t) => ({
      value: `${ns.namespace}|${t.name}|${t.version}`,
      label: `${ns.namespace}/${t.name} v${t.version}`,
    })),
  );
  // Without a version the server serves the latest; the select shows the one it served.
  const [served, setServed] = useState<{ key: string; version: string } | null>(null);
  const key = `${namespace}|${name}`;
  const shownVersion = version || (served?.key === key ? served.version : '');
  const chosen = namespace && name && shownVersion ? `${namespace}|${name}|${shownVersion}` : '';
  return (
    <div class="page">
      <h1>Create a task</h1>
      <ErrorBanner error={index.error} title="Could not list templates" />
      <label class="block">
        Template
        <select
          value={chosen}
          onChange={(e) => {
            const [ns, n, v] = (e.currentTarget as HTMLSelectElement).value.split('|');
            window.location.hash = href('/new', { namespace: ns, name: n, version: v });
          }}
        >
          <option value="">choose…</option>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
      {namespace && name ? (
        <TemplateForm
          namespace={namespace}
          name={name}
          version={version || undefined}
          onLoaded={(v) => setServed({ key, version: v })}
        />
      ) : null}
    </div>
  );
}

function TemplateForm({
  namespace,
  name,
  version,
  onLoaded,
}: {
  namespace: string;
  name: string;
  version?: string;
  onLoaded: (version: string) => void;
}) {
  const api = useApi();
  const t = useAsync(() => api.template(namespace, name, version), [namespace, name, version]);
  const loaded = t.data?.version;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reported once per version served, whatever the callback's identity
  useEffect(() => {
    if (loaded) onLoaded(loaded);
  }, [loaded]);
  if (!t.data)
    return t.error ? <ErrorBanner error={t.error} title="Could not load the template" /> : <p>Loading…</p>;
  return <ContextForm key={`${t.data.namespace}/${t.data.name}/${t.data.version}`} template={t.data} />;
}

function ContextForm({ template }: { template: TemplateDetail }) {
  const api = useApi();
  const check = useMemo(() => contextChecker(template.contextSchema), [template]);
  // An example valid for the schema (its defaults, examples, enums; required properties by type).
  const [text, setText] = useState(() => JSON.stringify(exampleFromSchema(template.contextSchema), null, 2));
  const [initiator, setInitiator] = useState('dashboard');
  const [reason, setReason] = useState('');
  const [tags, setTags] = useState('');
  const [confirming, setConfirming] = useState(false);
  const result = check(text);
  const tagList = tags
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

  return (
    <form
      class="card create-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (result.ok) setConfirming(true);
      }}
    >
      <h2>
        {template.namespace}/{template.name} <span class="muted">v{template.version}</span>
      </h2>
      <label class="block">
        Context (JSON)
        <textarea
          name="context"
          rows={10}
          value={text}
          spellcheck={false}
          aria-invalid={result.ok ? undefined : 'true'}
          aria-describedby="context-problems"
          onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </label>
      <div id="context-problems" aria-live="polite">
        {result.ok ? (
          <p class="ok">The context matches the template's schema.</p>
        ) : (
          <ul class="field-errors" data-problems={result.problems.length}>
            {result.problems.map((p) => (
              <li key={p.path + p.message}>
                <code>{p.path}</code> {p.message}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div class="row">
        <label>
          Initiator{' '}
          <input
            value={initiator}
            onInput={(e) => setInitiator((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Reason{' '}
          <input value={reason} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Tags (comma separated){' '}
          <input value={tags} onInput={(e) => setTags((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <details>
        <summary>Context schema</summary>
        <JsonBlock value={template.contextSchema ?? {}} label="Context schema" />
      </details>
      <button type="submit" class="primary" disabled={!result.ok}>
        Create task…
      </button>
      {confirming && result.ok ? (
        <ConfirmDialog
          title={`Create a ${template.name} task?`}
          confirmLabel="Create task"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            const task = await api.createTask({
              namespace: template.namespace,
              name: template.name,
              version: template.version,
              // The server checks it is an object (and against the template's schema) and says what is wrong.
              context: result.value as Record<string, unknown>,
              initiator: initiator || undefined,
              reason: reason || undefined,
              tags: tagList.length ? tagList : undefined,
            });
            window.location.hash = `#/tasks/${task.id}`;
          }}
        >
          <p>It starts as soon as a worker serving the {template.namespace} namespace is free.</p>
        </ConfirmDialog>
      ) : null}
    </form>
  );
}
