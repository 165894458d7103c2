/**
 * `loadWorkflows`: reads a directory (or one file) of task templates (YAML files, and modules exporting
 * tasks written in code: see load-task-modules.ts) and a directory of handler modules, checks everything,
 * and returns the templates ready to register, with EVERY problem in every file: which file, which step,
 * which key and what was expected. `registerWorkflows` puts them into a Tasker.
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { createContextValidator } from '../definitions/context-validator.js';
import { defineTask } from '../definitions/define-task.js';
import type { StepDefinition, StepHandler, TaskTemplate } from '../definitions/types.js';
import { formatProblems, isTaskerError, type Problem, TaskerError } from '../errors.js';
import { HTTP_HANDLER_NAME, httpConfigProblems } from '../handlers/http-handler.js';
import { isOriginalApiConfig } from '../handlers/original-api-config.js';
import { didYouMean } from '../model/suggest.js';
import { handlerExports, isClassPath, resolveHandlerClass } from './handler-class.js';
import {
  importHandler,
  isModuleReference,
  listFiles,
  loadHandlerDirectory,
  splitModuleReference,
} from './load-handlers.js';
import { isTaskModuleFile, loadTaskModule } from './load-task-modules.js';
import { mapTemplate } from './map-template.js';

export interface LoadWorkflowsOptions {
  /** A directory of .yaml/.yml templates and task modules (searched recursively) or one such file. */
  readonly templatesDir: string;
  /** A directory of handler modules (see load-handlers.ts). */
  readonly handlersDir?: string | null;
  /** Which `environments.<name>` overrides apply. @defaultValue 'development' */
  readonly environment?: string;
  /** Handler names the engine already has (the built-ins are always included). */
  readonly registeredHandlers?: Iterable<string>;
  /** Paths in problems are shown relative to this. @defaultValue process.cwd() */
  readonly cwd?: string;
}

export interface LoadedWorkflows {
  readonly templates: TaskTemplate[];
  /** Handlers found in handlersDir, by name (to register with the engine). */
  readonly handlers: Map<string, StepHandler<never>>;
  /** The template files read. */
  readonly files: string[];
  readonly problems: Problem[];
}

export const BUILTIN_HANDLERS = [HTTP_HANDLER_NAME] as const;

function isTemplateFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.startsWith('.');
}

/** Reads and checks templates and handlers; never throws for a problem in them (see `problems`). */
export async function loadWorkflows(options: LoadWorkflowsOptions): Promise<LoadedWorkflows> {
  const cwd = options.cwd ?? process.cwd();
  const label = (path: string) => {
    const rel = relative(cwd, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  };
  const environment = options.environment ?? 'development';
  const problems: Problem[] = [];
  const root = resolve(cwd, options.templatesDir);

  const {
    handlers,
    problems: handlerProblems,
    modules,
  } = options.handlersDir
    ? await loadHandlerDirectory(resolve(cwd, options.handlersDir), label)
    : { handlers: new Map<string, StepHandler<never>>(), problems: [], modules: [] };
  problems.push(...handlerProblems);
  // For the original's handler_class paths (Ecommerce::StepHandlers::ValidateCartHandler).
  const exported = handlerExports(modules);
  const known = new Set<string>([
    ...BUILTIN_HANDLERS,
    ...(options.registeredHandlers ?? []),
    ...handlers.keys(),
  ]);

  let files: string[] = [];
  if (!existsSync(root)) problems.push({ path: label(root), message: 'templates directory not found' });
  else if (statSync(root).isDirectory()) {
    files = listFiles(root, (name) => isTemplateFile(name) || isTaskModuleFile(name));
  } else files = [root];
  if (existsSync(root) && files.length === 0) {
    problems.push({
      path: label(root),
      message: 'no task templates found (.yaml or .yml files, or modules exporting defineTask results)',
    });
  }

  const templates: TaskTemplate[] = [];
  const seen = new Map<string, string>();
  const validator = createContextValidator();
  // A checked template joins the list unless its schema is invalid or its name@version is taken.
  const accept = (template: TaskTemplate, where: string, schemaPath: (path: string) => string) => {
    try {
      validator.compile(template);
    } catch (error) {
      if (!isTaskerError(error)) throw error;
      for (const p of error.details ?? [{ path: '', message: error.message }]) {
        problems.push({ path: schemaPath(p.path), message: p.message });
      }
      return;
    }
    const key = `${template.namespace}/${template.name}@${template.version}`;
    const first = seen.get(key);
    if (first) {
      problems.push({ path: where, message: `${key} is also defined in ${first}; bump the version of one` });
      return;
    }
    seen.set(key, where);
    templates.push(template);
  };
  const handlerModules = new Set<string>();
  for (const file of files) {
    const at = (path: string) => `${label(file)}${path ? `: ${path}` : ''}`;
    if (isTaskModuleFile(file)) {
      const loaded = await loadTaskModule(file, label(file), known);
      if (loaded.handlerModule) handlerModules.add(file);
      problems.push(...loaded.problems);
      for (const template of loaded.templates) accept(template, label(file), (path) => at(path));
      continue;
    }
    const document = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const line = error.linePos?.[0];
        problems.push({
          path: at(line ? `line ${line.line}, column ${line.col}` : ''),
          message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        });
      }
      continue;
    }
    const mapped = mapTemplate(document.toJS(), environment);
    const fileProblems = mapped.problems.map((p) => ({ path: at(p.path), message: p.message }));
    if (!mapped.definition) {
      problems.push(...fileProblems);
      continue;
    }

    /**
     * A handler a template names: a module path (imported), a registered name, or the original's class
     * path (bound and registered under it). Null when it cannot be bound (the problem is recorded).
     */
    const bind = async (
      handler: string,
      path: string,
      config: unknown,
      moduleName: string,
    ): Promise<StepHandler | string | null> => {
      if (isModuleReference(handler)) {
        const ref = splitModuleReference(handler);
        const found = await importHandler(resolve(dirname(file), ref.path), ref.exportName);
        if (typeof found === 'string') {
          fileProblems.push({ path: `${path}.handler`, message: found });
          return null;
        }
        return found as StepHandler;
      }
      if (!known.has(handler)) {
        const bound = resolveHandlerClass(handler, exported);
        if (bound.kind === 'found') {
          // Registered under the path the template names, so every process binds it the same way.
          handlers.set(handler, bound.handler);
          known.add(handler);
          return handler;
        }
        if (bound.kind === 'problem') {
          const hint = isOriginalApiConfig(config)
            ? '; or remove handler_class to run this api step on the built-in http handler'
            : '';
          fileProblems.push({
            path: `${path}.${isClassPath(handler) ? 'handler_class' : 'handler'}`,
            message: `${bound.message}${hint}`,
          });
          return null;
        }
        fileProblems.push({
          path: `${path}.handler`,
          message: `no handler named "${handler}"${didYouMean(handler, known)}; expected a registered handler (${[...known].join(', ')}) or a module path such as ./handlers/${moduleName}.ts`,
        });
        return null;
      }
      return handler;
    };

    const steps: StepDefinition[] = [];
    for (const [i, step] of mapped.definition.steps.entries()) {
      const where = at(`step_templates[${i}] (${step.name})`);
      if (step.handler === '') continue; // missing: already reported
      // A batch step's item handler is named the same ways as a step's.
      let batch = step.batch;
      if (batch && typeof batch.handler === 'string') {
        const itemHandler = await bind(batch.handler, `${where}.batch`, undefined, `${step.name}_item`);
        if (itemHandler === null) continue;
        batch = { ...batch, handler: itemHandler };
      }
      if (step.handler === undefined) {
        steps.push(step); // a wait (sleep, signal): the built-in handler ends it
        continue;
      }
      const handler =
        typeof step.handler === 'string'
          ? await bind(step.handler, where, step.config, step.name)
          : step.handler;
      if (handler === null) continue;
      if (handler === HTTP_HANDLER_NAME) {
        for (const p of httpConfigProblems(step.config)) {
          fileProblems.push({
            path: `${where}.handler_config${p.path ? `.${p.path}` : ''}`,
            message: p.message,
          });
        }
      }
      steps.push({ ...step, handler, ...(batch ? { batch } : {}) });
    }
    if (fileProblems.length > 0) {
      problems.push(...fileProblems);
      continue;
    }
    accept(defineTask({ ...mapped.definition, steps }), label(file), (path) =>
      at(path.replace(/^contextSchema/, 'schema')),
    );
  }
  return { templates, handlers, files: files.filter((f) => !handlerModules.has(f)), problems };
}

/** Throws TASKER_INVALID_DEFINITION listing every problem, if there are any. */
export function assertWorkflowsValid(loaded: LoadedWorkflows): void {
  if (loaded.problems.length === 0) return;
  const n = loaded.problems.length;
  throw new TaskerError(
    'TASKER_INVALID_DEFINITION',
    `${n} problem${n === 1 ? '' : 's'} in the task templates:\n${formatProblems(loaded.problems)}`,
    { details: loaded.problems },
  );
}

/** The part of a Tasker that registering workflows needs (templates sit below the Tasker). */
export interface WorkflowTarget {
  registerHandler(name: string, handler: StepHandler<never>, options: { replace: boolean }): void;
  register(template: TaskTemplate): TaskTemplate;
}

/**
 * Loads templates and handlers and registers them with a Tasker (after checking everything).
 *
 * @example
 * const tasker = await createTasker();
 * await registerWorkflows(tasker, await loadWorkflows({ templatesDir: './templates', handlersDir: './handlers' }));
 */
export function registerWorkflows(tasker: WorkflowTarget, loaded: LoadedWorkflows): TaskTemplate[] {
  assertWorkflowsValid(loaded);
  for (const [name, handler] of loaded.handlers) tasker.registerHandler(name, handler, { replace: true });
  return loaded.templates.map((template) => tasker.register(template));
}
