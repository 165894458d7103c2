/**
 * Task modules: TypeScript or JavaScript files beside (or instead of) the YAML templates, whose exports are
 * tasks written in code: `defineTask(...)` results, or typed builders (`defineTask({...}).step(...)`,
 * built here when `.build()` was left off). Files starting with `_` (shared helpers) and tests are skipped,
 * and so is a module exporting only functions (a handler module a YAML template names by path). Every
 * problem is collected, with the file it is in; nothing throws.
 */

import { basename, extname } from 'node:path';
import { importModule } from '../config/import-module.js';
import { isTaskBuilder } from '../definitions/typed-task.js';
import type { TaskTemplate } from '../definitions/types.js';
import type { Problem } from '../errors.js';
import { HTTP_HANDLER_NAME, httpConfigProblems } from '../handlers/http-handler.js';
import { didYouMean } from '../model/suggest.js';

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

/** Whether a file (a name or a path) is a task module. */
export function isTaskModuleFile(file: string): boolean {
  const name = basename(file);
  return (
    MODULE_EXTENSIONS.has(extname(name)) &&
    !name.endsWith('.d.ts') &&
    !/\.(test|spec|test-d)\.[cm]?[jt]s$/.test(name) &&
    !name.startsWith('_') &&
    !name.startsWith('.')
  );
}

/** A template made by defineTask (possibly by another copy of this package: checked by shape). */
function isTaskTemplate(value: unknown): value is TaskTemplate {
  const v = value as Partial<TaskTemplate> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.fullName === 'string' &&
    typeof v.hash === 'string' &&
    Array.isArray(v.steps)
  );
}

/** The problems of a definition error (a TaskerError, possibly from another copy of this package). */
function errorProblems(error: unknown, where: string): Problem[] {
  const details = (error as { details?: unknown }).details;
  if (Array.isArray(details) && details.length > 0) {
    return details.map((d: Problem) => ({
      path: d.path ? `${where}: ${d.path}` : where,
      message: d.message,
    }));
  }
  return [{ path: where, message: (error as Error).message ?? String(error) }];
}

/**
 * The templates a module exports, by export name. `knownHandlers` are the handler names steps may use
 * instead of a function (the built-ins, the registered ones, those of handlersDir).
 */
export async function loadTaskModule(
  file: string,
  label: string,
  knownHandlers: ReadonlySet<string>,
): Promise<{ templates: TaskTemplate[]; problems: Problem[]; handlerModule: boolean }> {
  let module: Record<string, unknown>;
  try {
    module = await importModule(file);
  } catch (error) {
    const problems = errorProblems(error, label);
    if ((error as { details?: unknown }).details === undefined) {
      problems[0] = { path: label, message: `cannot be loaded: ${(error as Error).message}` };
    }
    return { templates: [], problems, handlerModule: false };
  }
  const templates: TaskTemplate[] = [];
  const problems: Problem[] = [];
  const seen = new Set<unknown>();
  for (const [exportName, value] of Object.entries(module)) {
    // The same task exported twice (`export default order` beside `export const order`) counts once.
    if (seen.has(value)) continue;
    seen.add(value);
    const where = `${label} (export ${exportName})`;
    let template: TaskTemplate;
    if (isTaskTemplate(value)) template = value;
    else if (isTaskBuilder(value)) {
      try {
        template = value.build();
      } catch (error) {
        problems.push(...errorProblems(error, where));
        continue;
      }
    } else continue;
    const stepProblems = template.steps.flatMap((step, i) => {
      if (typeof step.handler !== 'string') return [];
      const at = `${where}: steps[${i}] (${step.name}).handler`;
      if (!knownHandlers.has(step.handler)) {
        return [
          {
            path: at,
            message: `no handler named "${step.handler}"${didYouMean(step.handler, knownHandlers)}; expected a function or a registered handler (${[...knownHandlers].join(', ')})`,
          },
        ];
      }
      if (step.handler !== HTTP_HANDLER_NAME) return [];
      return httpConfigProblems(step.config).map((p) => ({
        path: `${where}: steps[${i}] (${step.name}).config${p.path ? `.${p.path}` : ''}`,
        message: p.message,
      }));
    });
    if (stepProblems.length > 0) problems.push(...stepProblems);
    else templates.push(template);
  }
  // A module of functions only is a handler module (templates name it by path): not a task module.
  const handlerModule =
    templates.length === 0 &&
    problems.length === 0 &&
    Object.values(module).some((v) => typeof v === 'function');
  if (templates.length === 0 && problems.length === 0 && !handlerModule) {
    problems.push({
      path: label,
      message:
        'exports no task: export a defineTask(...) result (a helper module in this directory can start its name with "_")',
    });
  }
  return { templates, problems, handlerModule };
}
