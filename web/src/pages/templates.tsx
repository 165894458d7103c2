/** Templates: every namespace, name and version; one template's steps and step graph. */
import { useMemo } from 'preact/hooks';
import type { TemplateDetail } from '../api/types.js';
import { DagGraph } from '../components/dag-graph.js';
import { ErrorBanner, JsonBlock, Section } from '../components/ui.js';
import { useApi, useAsync } from '../hooks.js';
import { formatDuration } from '../lib/format.js';
import { href } from '../lib/route.js';

export function TemplatesPage({
  namespace,
  name,
  version,
}: {
  namespace?: string;
  name?: string;
  version?: string;
}) {
  const api = useApi();
  const index = useAsync(() => api.handlers(), []);
  return (
    <div class="page">
      <h1>Templates</h1>
      <ErrorBanner error={index.error} title="Could not list templates" />
      <div class="split">
        <nav class="card template-index" aria-label="Templates by namespace">
          {index.loading && !index.data ? <p>Loading…</p> : null}
          {index.data?.namespaces.length === 0 ? <p class="muted">No templates are registered.</p> : null}
          {index.data?.namespaces.map((ns) => (
            <div key={ns.namespace}>
              <h2>{ns.namespace}</h2>
              <ul>
                {ns.templates.map((t) => {
                  const current =
                    ns.namespace === namespace && t.name === name && (!version || version === t.version);
                  return (
                    <li key={`${t.name}@${t.version}`}>
                      <a
                        href={href(
                          `/templates/${encodeURIComponent(ns.namespace)}/${encodeURIComponent(t.name)}`,
                          { version: t.version },
                        )}
                        aria-current={current ? 'page' : undefined}
                      >
                        {t.name} <span class="muted">v{t.version}</span>
                      </a>
                    </li>
                  );
                })}
              </ul>
            </div>
          ))}
        </nav>
        <div class="grow">
          {namespace && name ? (
            <TemplateView namespace={namespace} name={name} version={version} />
          ) : (
            <p class="muted">Choose a template to see its steps.</p>
          )}
        </div>
      </div>
    </div>
  );
}

function TemplateView({ namespace, name, version }: { namespace: string; name: string; version?: string }) {
  const api = useApi();
  const t = useAsync(() => api.template(namespace, name, version), [namespace, name, version]);
  if (!t.data)
    return t.error ? <ErrorBanner error={t.error} title="Could not load the template" /> : <p>Loading…</p>;
  return <TemplateDetailView template={t.data} />;
}

function TemplateDetailView({ template }: { template: TemplateDetail }) {
  const nodes = useMemo(
    () => template.steps.map((s) => ({ id: s.name, label: s.name, detail: `retries ${s.retryLimit}` })),
    [template],
  );
  const edges = useMemo(
    () => template.steps.flatMap((s) => s.dependsOn.map((p) => ({ from: p, to: s.name }))),
    [template],
  );
  return (
    <div data-template={`${template.namespace}/${template.name}`}>
      <div class="page-head">
        <h2>
          {template.namespace}/{template.name} <span class="muted">v{template.version}</span>
        </h2>
        <div class="spacer" />
        <a
          class="button primary"
          href={href('/new', {
            namespace: template.namespace,
            name: template.name,
            version: template.version,
          })}
        >
          Create a task…
        </a>
      </div>
      {template.description ? <p>{template.description}</p> : null}
      <Section title="Step graph" id="template-graph">
        <DagGraph nodes={nodes} edges={edges} label={`Steps of ${template.name}`} />
      </Section>
      <Section title="Steps" id="template-steps">
        <table>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Depends on</th>
              <th scope="col">Retries</th>
              <th scope="col">Timeout</th>
              <th scope="col">Skippable</th>
            </tr>
          </thead>
          <tbody>
            {template.steps.map((s) => (
              <tr key={s.name}>
                <td>{s.name}</td>
                <td>{s.dependsOn.join(', ') || '–'}</td>
                <td>{s.retryable ? s.retryLimit : 'not retryable'}</td>
                <td>{s.timeoutMs ? formatDuration(s.timeoutMs) : 'none'}</td>
                <td>{s.skippable ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Context schema" id="template-schema">
        {template.contextSchema ? (
          <JsonBlock value={template.contextSchema} label="Context schema" />
        ) : (
          <p class="muted">Any object.</p>
        )}
      </Section>
    </div>
  );
}
