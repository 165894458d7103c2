/**
 * Turns one parsed YAML template into a TaskDefinition. Pure. Applies the chosen environment's overrides
 * (merged by step name), resolves the aliases, and runs the same checks as `defineTask`; every problem is
 * returned with its location in the file's own terms: `step_templates[2] (check_inventory).depends_on_steps[0]`.
 */
import type { z } from 'zod';
import { deepMerge } from '../config/env-config.js';
import { defineTask, formatPath } from '../definitions/define-task.js';
import type { StepDefinition, TaskDefinition } from '../definitions/types.js';
import { isTaskerError, type Problem } from '../errors.js';
import { HTTP_HANDLER_NAME } from '../handlers/http-handler.js';
import { isOriginalApiConfig } from '../handlers/original-api-config.js';
import { didYouMean } from '../model/suggest.js';
import { type StepTemplateFields, type TaskTemplateFile, taskTemplateFormat } from './template-format.js';

/** A step definition whose handler is still a reference (a registered name or a module path). */
export type MappedStep = Omit<StepDefinition, 'handler'> & { readonly handler: string };
export type MappedDefinition = Omit<TaskDefinition, 'steps'> & { readonly steps: readonly MappedStep[] };

export interface MappedTemplate {
  /** Null when the file's shape is wrong; otherwise present, even when `problems` is not empty. */
  readonly definition: MappedDefinition | null;
  readonly problems: Problem[];
}

/** Names an array position of step_templates with the step's name, which is what people search for. */
function stepLabel(steps: readonly unknown[] | undefined, index: number): string {
  const step = steps?.[index] as { name?: unknown } | undefined;
  return typeof step?.name === 'string'
    ? `step_templates[${index}] (${step.name})`
    : `step_templates[${index}]`;
}

/** Renders a zod path over the raw file, labelling steps by name. */
function filePath(raw: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'step_templates' && typeof path[1] === 'number') {
    const steps = (raw as { step_templates?: unknown[] })?.step_templates;
    const rest = formatPath(path.slice(2));
    return `${stepLabel(steps, path[1])}${rest ? (rest.startsWith('[') ? rest : `.${rest}`) : ''}`;
  }
  return formatPath(path);
}

// defineTask's field names -> the file's key, for mapping its problems back.
const STEP_KEYS: Record<string, keyof StepTemplateFields> = {
  dependsOn: 'depends_on_steps',
  retryLimit: 'default_retry_limit',
  retryable: 'default_retryable',
  timeoutMs: 'timeout_ms',
  dependentSystem: 'dependent_system',
  config: 'handler_config',
  customEvents: 'custom_events',
  rateLimits: 'rate_limits',
};

function aliasProblems(step: StepTemplateFields, label: string): Problem[] {
  const problems: Problem[] = [];
  const pairs: Array<[keyof StepTemplateFields, keyof StepTemplateFields]> = [
    ['handler', 'handler_class'],
    ['default_retryable', 'retryable'],
    ['default_retry_limit', 'retry_limit'],
    ['timeout_ms', 'timeout_seconds'],
    ['handler_config', 'config'],
  ];
  for (const [a, b] of pairs) {
    if (step[a] !== undefined && step[b] !== undefined) {
      problems.push({ path: `${label}.${b}`, message: `expected either ${a} or ${b}, not both` });
    }
  }
  return problems;
}

/** Applies `environments.<environment>.step_templates` to the base steps, by step name. */
function applyEnvironment(
  file: TaskTemplateFile,
  environment: string,
  problems: Problem[],
): StepTemplateFields[] {
  const steps: StepTemplateFields[] = file.step_templates.map((s) => ({ ...s }));
  const names = steps.map((s) => s.name);
  for (const [env, overrides] of Object.entries(file.environments ?? {})) {
    (overrides.step_templates ?? []).forEach((override, i) => {
      const index = names.indexOf(override.name);
      if (index < 0) {
        problems.push({
          path: `environments.${env}.step_templates[${i}].name`,
          message: `no step named "${override.name}"; expected one of: ${names.map((n) => `"${n}"`).join(', ')}`,
        });
        return;
      }
      if (env !== environment) return;
      steps[index] = deepMerge(steps[index]!, override) as StepTemplateFields;
    });
  }
  return steps;
}

/**
 * A step written for the original's API step handler (`handler_config.type: api`) that names no handler
 * of its own runs on the built-in http handler, which reads that configuration.
 */
function usesBuiltInApiHandler(step: StepTemplateFields): boolean {
  return (
    step.handler === undefined &&
    step.handler_class === undefined &&
    isOriginalApiConfig(step.handler_config ?? step.config)
  );
}

/** Rails' `underscore` of a module path: `ApiTask` -> `api_task`, `Foo::HTTPClient` -> `foo/http_client`. */
export function underscoreModulePath(path: string): string {
  return path
    .replaceAll('::', '/')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The namespace and name a template's `name` stands for. "prefix/name": the prefix is the namespace
 * when the file sets none (as the original's successor writes names), or else must be that namespace or
 * the original's module path (module_namespace underscored, as its ConfiguredTask names tasks).
 */
export function splitTemplateName(file: {
  name: string;
  namespace_name?: string | undefined;
  namespace?: string | undefined;
  module_namespace?: string | undefined;
}): { namespace: string | undefined; name: string; problem?: Problem } {
  const explicit = file.namespace_name ?? file.namespace;
  const slash = file.name.lastIndexOf('/');
  if (slash < 0) return { namespace: explicit, name: file.name };
  const prefix = file.name.slice(0, slash);
  const name = file.name.slice(slash + 1);
  const modulePath = file.module_namespace ? underscoreModulePath(file.module_namespace) : undefined;
  if (explicit === undefined) {
    if (prefix.includes('/')) {
      return {
        namespace: undefined,
        name,
        problem: {
          path: 'name',
          message: `"${prefix}" cannot be a namespace (namespaces have no "/"); set namespace_name${modulePath === prefix ? '' : ` or module_namespace`}`,
        },
      };
    }
    return { namespace: prefix, name };
  }
  if (prefix === explicit || prefix === modulePath) return { namespace: explicit, name };
  return {
    namespace: explicit,
    name,
    problem: {
      path: 'name',
      message: `"${file.name}" carries namespace "${prefix}" but namespace_name is "${explicit}"; expected "${explicit}/${name}", "${name}"${modulePath ? ` or "${modulePath}/${name}" (the path of module_namespace)` : ''}`,
    },
  };
}

function toStep(step: StepTemplateFields): MappedStep {
  const dependsOn = [
    ...(step.depends_on_step !== undefined ? [step.depends_on_step] : []),
    ...(step.depends_on_steps ?? []),
  ];
  const timeoutMs =
    step.timeout_ms ??
    (step.timeout_seconds !== undefined ? Math.round(step.timeout_seconds * 1000) : undefined);
  const definition: Record<string, unknown> = {
    name: step.name,
    handler:
      step.handler ??
      step.handler_class ??
      (usesBuiltInApiHandler(step)
        ? HTTP_HANDLER_NAME
        : step.kind === 'sleep' || step.kind === 'signal' || step.kind === 'subtask'
          ? undefined
          : ''),
    dependsOn: [...new Set(dependsOn)],
    description: step.description,
    dependentSystem: step.dependent_system,
    retryable: step.default_retryable ?? step.retryable,
    retryLimit: step.default_retry_limit ?? step.retry_limit,
    timeoutMs,
    skippable: step.skippable,
    config: step.handler_config ?? step.config,
    customEvents: step.custom_events,
    concurrency: step.concurrency,
    rateLimits: step.rate_limits,
    undo: step.undo,
    kind: step.kind,
    sleep: step.sleep,
    subtask: step.subtask,
    batch: step.batch
      ? {
          handler: step.batch.handler,
          maxItems: step.batch.max_items,
          retryLimit: step.batch.retry_limit,
          retryable: step.batch.retryable,
          timeoutMs: step.batch.timeout_ms,
        }
      : undefined,
    signal: step.signal
      ? {
          name: step.signal.name,
          timeoutMs: step.signal.timeout_ms,
          timeoutRetryable: step.signal.timeout_retryable,
        }
      : undefined,
  };
  for (const key of Object.keys(definition)) if (definition[key] === undefined) delete definition[key];
  return definition as unknown as MappedStep;
}

/**
 * Maps a parsed template file. `environment` selects which `environments` entry applies (all entries
 * are checked).
 */
/** The keys an object schema accepts at `path` (array indexes and wrappers stepped through). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = () => {
    for (let i = 0; i < 10; i++) {
      const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return;
      const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
      if (!inner) return;
      current = inner;
    }
  };
  for (const segment of path) {
    unwrap();
    const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (def.type === 'array') current = def.element;
    else if (def.type === 'object') current = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'record') current = def.valueType;
    else return [];
  }
  unwrap();
  const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

export function mapTemplate(raw: unknown, environment: string): MappedTemplate {
  const parsed = taskTemplateFormat.safeParse(raw);
  if (!parsed.success) {
    return {
      definition: null,
      problems: parsed.error.issues.map((issue) => ({
        path: filePath(raw, issue.path),
        message:
          issue.code === 'unrecognized_keys'
            ? `unknown key(s) ${issue.keys
                .map((k) => `"${k}"${didYouMean(k, keysAt(taskTemplateFormat, issue.path))}`)
                .join(', ')}`
            : issue.message,
      })),
    };
  }
  const file = parsed.data;
  const problems: Problem[] = [];
  if (file.namespace !== undefined && file.namespace_name !== undefined) {
    problems.push({ path: 'namespace', message: 'expected either namespace_name or namespace, not both' });
  }
  if (file.schema !== undefined && file.context_schema !== undefined) {
    problems.push({ path: 'context_schema', message: 'expected either schema or context_schema, not both' });
  }
  if (file.default_dependent_system !== undefined && file.dependent_system !== undefined) {
    problems.push({
      path: 'dependent_system',
      message: 'expected either default_dependent_system or dependent_system, not both',
    });
  }

  const merged = applyEnvironment(file, environment, problems);
  merged.forEach((step, i) => {
    const label = stepLabel(merged, i);
    problems.push(...aliasProblems(step, label));
    const runsNoHandler = step.kind === 'sleep' || step.kind === 'signal' || step.kind === 'subtask';
    if (
      step.handler === undefined &&
      step.handler_class === undefined &&
      !usesBuiltInApiHandler(step) &&
      !runsNoHandler
    ) {
      problems.push({
        path: `${label}.handler`,
        message:
          'expected a handler (or handler_class, or handler_config.type: api for the built-in http handler)',
      });
    }
  });
  if (file.named_steps) {
    const names = new Set(merged.map((s) => s.name));
    const listed = new Set(file.named_steps);
    const missing = [...names].filter((n) => !listed.has(n));
    const extra = [...listed].filter((n) => !names.has(n));
    if (missing.length > 0 || extra.length > 0) {
      problems.push({
        path: 'named_steps',
        message: `expected the names of step_templates${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; no step template for ${extra.join(', ')}` : ''}`,
      });
    }
  }

  const qualified = splitTemplateName(file);
  if (qualified.problem) problems.push(qualified.problem);
  const fields: Record<string, unknown> = {
    namespace: qualified.namespace,
    name: qualified.name,
    version: file.version,
    description: file.description,
    contextSchema: file.schema ?? file.context_schema,
    dependentSystem: file.default_dependent_system ?? file.dependent_system,
    identityStrategy: file.identity_strategy,
    priority: file.priority,
    concurrency: file.concurrency,
    onFailure: file.on_failure,
    steps: merged.map(toStep),
  };
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  const definition = fields as unknown as MappedDefinition;
  if (problems.length === 0) {
    try {
      defineTask(definition);
    } catch (error) {
      if (!isTaskerError(error, 'TASKER_INVALID_DEFINITION')) throw error;
      for (const p of error.details ?? []) problems.push(translateProblem(p, merged));
    }
  }
  // With problems the definition is still returned, so that the loader can check its handlers too.
  return { definition, problems };
}

/** Maps a defineTask problem path (`steps[1].dependsOn[0]`) to the file's keys. */
function translateProblem(problem: Problem, steps: readonly StepTemplateFields[]): Problem {
  const match = /^steps\[(\d+)\](?:\.(\w+))?(.*)$/.exec(problem.path);
  if (match) {
    const index = Number(match[1]);
    const step = steps[index];
    let key = match[2] ? (STEP_KEYS[match[2]] ?? match[2]) : '';
    if (match[2] === 'dependsOn' && step?.depends_on_step !== undefined && !step.depends_on_steps) {
      return { path: `${stepLabel(steps, index)}.depends_on_step`, message: problem.message };
    }
    if (match[2] === 'retryable' && step?.retryable !== undefined) key = 'retryable';
    if (match[2] === 'retryLimit' && step?.retry_limit !== undefined) key = 'retry_limit';
    return {
      path: `${stepLabel(steps, index)}${key ? `.${key}` : ''}${match[3] ?? ''}`,
      message: problem.message,
    };
  }
  const top: Record<string, string> = {
    steps: 'step_templates',
    namespace: 'namespace_name',
    contextSchema: 'schema',
    dependentSystem: 'default_dependent_system',
    identityStrategy: 'identity_strategy',
    onFailure: 'on_failure',
  };
  const [head, ...rest] = problem.path.split('.');
  return { path: [top[head!] ?? head, ...rest].join('.'), message: problem.message };
}
