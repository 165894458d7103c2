/**
 * "Did you mean ...?" for names a person typed: template keys, handler names, task names. Pure.
 * Edit distance from fastest-levenshtein; a suggestion is offered only when it is close enough to be a
 * likely typo (at most a third of the word's length, and at most 3 edits), so that a wild guess is never
 * presented as one.
 */
import { closest, distance } from 'fastest-levenshtein';

/** Words newcomers use for a key of another name (not typos, so no distance finds them). */
const ALIASES: Readonly<Record<string, string>> = {
  steps: 'step_templates',
  namespace: 'namespace_name',
  depends_on: 'depends_on_step',
  retries: 'retry_limit',
};

/** The candidate `input` most likely stands for, or undefined. */
export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates].filter((c) => c !== input);
  const alias = ALIASES[input];
  if (alias && list.includes(alias)) return alias;
  if (list.length === 0 || input.length === 0) return undefined;
  const lower = input.toLowerCase();
  const caseOnly = list.find((c) => c.toLowerCase() === lower);
  if (caseOnly) return caseOnly;
  const best = closest(input, list);
  const allowed = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  return distance(input, best) <= allowed ? best : undefined;
}

/** " (did you mean "x"?)" or "". */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const found = suggest(input, candidates);
  return found ? ` (did you mean "${found}"?)` : '';
}
