/**
 * A fingerprint groups failures that are the same problem: the error's class and code, its message
 * with what changes from one occurrence to the next taken out (ids, numbers, times, addresses), and the
 * top frame of the stack that is the handler's own (function and file, without line and column, so
 * that editing the file does not split a group). Pure.
 */
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import type { ErrorFacts } from './classify.js';

const REPLACEMENTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  [/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<email>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, '<ip>'],
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b/gi, '<hex>'],
  [/\d+(\.\d+)?/g, '<n>'],
];

/** The message with what varies between occurrences replaced by placeholders. */
export function messagePattern(message: string): string {
  let out = message.length > 500 ? message.slice(0, 500) : message;
  for (const [pattern, placeholder] of REPLACEMENTS) out = out.replace(pattern, placeholder);
  return out.trim();
}

/**
 * The first stack frame that is application code (not Node's internals, not a dependency), as
 * "function (file)" with the file relative to `cwd`; undefined when there is none.
 */
export function topFrame(stack: string | undefined, cwd = process.cwd()): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n')) {
    const match = /^\s+at (?:(.+?) \()?(.+?):\d+:\d+\)?$/.exec(line);
    if (!match) continue;
    const file = match[2]!.replace(/^file:\/\//, '');
    if (file.startsWith('node:') || file.includes('/node_modules/') || file.startsWith('internal/')) continue;
    // "Object.charge [as handler]" is charge: how V8 names an exported function called through an object.
    const name =
      match[1]
        ?.replace(/^async /, '')
        .replace(/ \[as [^\]]+\]$/, '')
        .replace(/^Object\./, '') ?? '<anonymous>';
    return `${name} (${file.startsWith('/') ? relative(cwd, file) : file})`;
  }
  return undefined;
}

export interface Fingerprint {
  /** 12 hex characters: the same for every occurrence of the same problem. */
  readonly fingerprint: string;
  readonly pattern: string;
  readonly frame: string | undefined;
}

export function fingerprintError(error: ErrorFacts, cwd?: string): Fingerprint {
  const pattern = messagePattern(error.message);
  const frame = topFrame(error.stack, cwd);
  const fingerprint = createHash('sha256')
    .update([error.class, error.code ?? '', pattern, frame ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 12);
  return { fingerprint, pattern, frame };
}
