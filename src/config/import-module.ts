/**
 * Imports a user's module (config file, handler module): JavaScript through Node's own `import()`,
 * TypeScript through jiti (transpiled on the fly, so `tasker` works on a project without a build step).
 */
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createJiti, type Jiti } from 'jiti';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

let jiti: Jiti | null = null;

/** Imports the module at an absolute path and returns its namespace object. */
export async function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(absolutePath))) {
    jiti ??= createJiti(import.meta.url, { interopDefault: false, moduleCache: true });
    return (await jiti.import(absolutePath)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(absolutePath).href)) as Record<string, unknown>;
}
