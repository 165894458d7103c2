/**
 * Handler modules: a directory whose modules' exported functions become named handlers (an export
 * `validateCart` is the handler "validateCart"; a default export function takes the file's base name; a
 * default export object of functions contributes each of its keys), and module paths named by templates
 * (`./handlers/cart.ts#validateCart`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { importModule } from '../config/import-module.js';
import type { StepHandler } from '../definitions/types.js';
import type { Problem } from '../errors.js';
import { asStepHandler } from './handler-class.js';

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs', '.cjs', '.cts']);

/** True for a template handler that names a module rather than a registered handler. */
export function isModuleReference(handler: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(handler) || /^[A-Za-z]:[\\/]/.test(handler);
}

/** Splits "./file.ts#name" into the path and export name (default: `default`, then `handler`). */
export function splitModuleReference(handler: string): { path: string; exportName: string | null } {
  const hash = handler.lastIndexOf('#');
  return hash > 0
    ? { path: handler.slice(0, hash), exportName: handler.slice(hash + 1) }
    : { path: handler, exportName: null };
}

function isHandlerModuleFile(name: string): boolean {
  return (
    MODULE_EXTENSIONS.has(extname(name)) &&
    !name.endsWith('.d.ts') &&
    !/\.(test|spec)\.[cm]?[jt]s$/.test(name) &&
    !name.startsWith('_') &&
    !name.startsWith('.')
  );
}

/** Every module file under a directory (recursively), sorted for a stable order. */
export function listFiles(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...listFiles(path, accept));
    } else if (accept(entry.name)) out.push(path);
  }
  return out;
}

function functionsOf(module: Record<string, unknown>, file: string): Array<[string, StepHandler<never>]> {
  const out: Array<[string, StepHandler<never>]> = [];
  // asStepHandler: a class with a process method (the original's handler shape) becomes a function.
  const add = (name: string, value: unknown) => {
    const handler = asStepHandler(value);
    if (handler) out.push([name, handler]);
  };
  for (const [key, value] of Object.entries(module)) {
    if (key === 'default') {
      if (typeof value === 'function') add(basename(file, extname(file)), value);
      else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) if (typeof v === 'function') add(k, v);
      }
    } else if (typeof value === 'function') add(key, value);
  }
  return out;
}

/** Loads every handler module of a directory. Problems (unreadable modules, duplicate names) are collected. */
export async function loadHandlerDirectory(
  dir: string,
  label: (file: string) => string,
): Promise<{
  handlers: Map<string, StepHandler<never>>;
  problems: Problem[];
  /** The modules as imported, for binding the original's handler_class paths (handler-class.ts). */
  modules: Array<{ file: string; module: Record<string, unknown> }>;
}> {
  const handlers = new Map<string, StepHandler<never>>();
  const modules: Array<{ file: string; module: Record<string, unknown> }> = [];
  const origins = new Map<string, string>();
  const problems: Problem[] = [];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push({ path: label(dir), message: 'handlers directory not found' });
    return { handlers, problems, modules };
  }
  for (const file of listFiles(dir, isHandlerModuleFile)) {
    let module: Record<string, unknown>;
    try {
      module = await importModule(file);
    } catch (error) {
      problems.push({ path: label(file), message: `cannot be loaded: ${(error as Error).message}` });
      continue;
    }
    modules.push({ file: label(file), module });
    for (const [name, fn] of functionsOf(module, file)) {
      const first = origins.get(name);
      if (first) {
        problems.push({ path: label(file), message: `handler "${name}" is also exported by ${first}` });
        continue;
      }
      origins.set(name, label(file));
      handlers.set(name, fn);
    }
  }
  return { handlers, problems, modules };
}

/** Imports the handler a module reference names. Returns the function or a message saying what is wrong. */
export async function importHandler(
  absolutePath: string,
  exportName: string | null,
): Promise<StepHandler<never> | string> {
  if (!existsSync(absolutePath)) return `module ${absolutePath} not found`;
  let module: Record<string, unknown>;
  try {
    module = await importModule(absolutePath);
  } catch (error) {
    return `module ${absolutePath} cannot be loaded: ${(error as Error).message}`;
  }
  const names = exportName ? [exportName] : ['default', 'handler'];
  for (const name of names) {
    const handler = asStepHandler(module[name]);
    if (handler) return handler;
  }
  const functions = Object.keys(module).filter((k) => typeof module[k] === 'function');
  return `module ${absolutePath} has no function export ${names.map((n) => `"${n}"`).join(' or ')}${
    functions.length ? ` (its functions: ${functions.join(', ')}; name one with #)` : ''
  }`;
}
