/**
 * The one way outside input becomes typed data: a zod schema parses it, and what it refuses becomes a
 * TaskerError listing every problem with its path (`steps[2].dependsOn`) and what was expected. Every
 * boundary (library calls, configuration, HTTP bodies the engine sees, handler options) goes through here,
 * so the messages read the same everywhere.
 */
import type { z } from 'zod';
import { type ErrorCode, formatProblems, type Problem, TaskerError } from './errors.js';

/** Renders a zod issue path the way users write it: `steps[2].dependsOn[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** zod's issues as problems, each path under `prefix` when one is given. */
export function zodProblems(error: z.ZodError, prefix = ''): Problem[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message;
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message };
  });
}

/**
 * Parses `value` with `schema`, or throws `code` (TASKER_INVALID_REQUEST unless given) with the message
 * `invalid <what>:` followed by one line per problem, and the problems as `details`.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  code: ErrorCode = 'TASKER_INVALID_REQUEST',
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error);
  throw new TaskerError(code, `invalid ${what}:\n${formatProblems(problems)}`, { details: problems });
}
