/**
 * The templates an engine knows, keyed by namespace, name and version. A lookup without a version gets
 * the highest semantic version registered. A name asked for with a "/" (as the original Tasker and its
 * successor write them: "payments/order_processing", "api_task/integration_yaml_example") is looked up
 * as its last part in the namespace asked for, then in the namespace the prefix names.
 */

import semver from 'semver';
import { TaskerError } from '../errors.js';
import { didYouMean } from '../model/suggest.js';
import type { TaskTemplate } from './types.js';

export interface TemplateRegistry {
  /** Adds a template; a second registration of the same namespace/name/version fails unless `replace`. */
  add(template: TaskTemplate, options?: { replace?: boolean }): void;
  /** The template, or undefined. Without a version: the latest. */
  find(namespace: string, name: string, version?: string): TaskTemplate | undefined;
  /** Like find, but throws TASKER_UNKNOWN_TASK naming what was asked for. */
  get(namespace: string, name: string, version?: string): TaskTemplate;
  list(): TaskTemplate[];
}

export function createTemplateRegistry(): TemplateRegistry {
  const byKey = new Map<string, Map<string, TaskTemplate>>(); // "ns\0name" -> version -> template
  const key = (namespace: string, name: string) => `${namespace}\u0000${name}`;

  const findExact = (namespace: string, name: string, version?: string) => {
    const versions = byKey.get(key(namespace, name));
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    const latest = semver.rsort([...versions.keys()])[0];
    return latest === undefined ? undefined : versions.get(latest);
  };

  const find: TemplateRegistry['find'] = (namespace, name, version) => {
    const slash = name.lastIndexOf('/');
    if (slash < 0) return findExact(namespace, name, version);
    const base = name.slice(slash + 1);
    return findExact(namespace, base, version) ?? findExact(name.slice(0, slash), base, version);
  };

  return {
    add(template, options = {}) {
      let versions = byKey.get(key(template.namespace, template.name));
      if (!versions) {
        versions = new Map();
        byKey.set(key(template.namespace, template.name), versions);
      }
      if (versions.has(template.version) && !options.replace) {
        throw new TaskerError(
          'TASKER_DUPLICATE_DEFINITION',
          `${template.fullName} is already registered; pass { replace: true } to replace it`,
        );
      }
      versions.set(template.version, template);
    },
    find,
    get(namespace, name, version) {
      const template = find(namespace, name, version);
      if (template) return template;
      const known = byKey.get(key(namespace, name));
      const where =
        version === undefined
          ? `in namespace ${namespace}`
          : `in namespace ${namespace} and version ${version}`;
      const names = [...byKey.keys()]
        .filter((k) => k.startsWith(key(namespace, '')))
        .map((k) => k.slice(key(namespace, '').length));
      const hint = known
        ? ` (registered versions: ${[...known.keys()].join(', ')})`
        : didYouMean(name, names);
      throw new TaskerError('TASKER_UNKNOWN_TASK', `No task handler for ${name} ${where}${hint}`);
    },
    list() {
      return [...byKey.values()].flatMap((versions) => [...versions.values()]);
    },
  };
}
