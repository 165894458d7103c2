/**
 * Imports a user's module (config file, handler module): JavaScript through Node's own `import()`,
 * TypeScript through jiti (transpiled on the fly, so `tasker` works on a project without a build step).
 *
 * Watch mode (`tasker dev`) calls `reloadModules()` before loading the workflows again: from then on each
 * file is imported anew once per reload (TypeScript modules with everything they import; a JavaScript
 * module itself, while what it imports stays cached, as Node's ESM cache cannot be cleared).
 */
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createJiti, type Jiti } from 'jiti';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

let jiti: Jiti | null = null;
/** Set by reloadModules: this reload's imports, so one file loaded twice in a reload is one module. */
let reload: { generation: number; modules: Map<string, Promise<Record<string, unknown>>> } | null = null;

/** Imports the module at an absolute path and returns its namespace object. */
export function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  if (!reload) return load(absolutePath);
  let module = reload.modules.get(absolutePath);
  if (!module) {
    module = load(absolutePath);
    reload.modules.set(absolutePath, module);
  }
  return module;
}

/** The next imports read every module from its file again (see the module comment). */
export function reloadModules(): void {
  reload = { generation: (reload?.generation ?? 0) + 1, modules: new Map() };
  // Without the native require cache: each import transpiles (from jiti's file cache) and runs again.
  jiti = createJiti(import.meta.url, { interopDefault: false, moduleCache: false });
}

async function load(absolutePath: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(absolutePath))) {
    jiti ??= createJiti(import.meta.url, { interopDefault: false, moduleCache: true });
    return (await jiti.import(absolutePath)) as Record<string, unknown>;
  }
  const url = pathToFileURL(absolutePath);
  if (reload) url.search = `reload=${reload.generation}`;
  return (await import(url.href)) as Record<string, unknown>;
}
