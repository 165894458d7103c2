/**
 * Decision steps (docs/workflows.md#decision-steps): a step of kind `decision` returns which of its
 * children to run, `{ activate: ['manual_review'] }`. Pure: checks the answer against the children the
 * template declares and says which to skip; the database skips them and what only they lead to.
 */

export type DecisionCheck =
  | { readonly ok: true; readonly skip: readonly string[] }
  | { readonly ok: false; readonly message: string };

/** Which children a decision's result leaves out, or what is wrong with the result. */
export function checkDecision(stepName: string, children: readonly string[], result: unknown): DecisionCheck {
  const allowed = children.map((c) => `"${c}"`).join(', ');
  const activate =
    typeof result === 'object' && result !== null && !Array.isArray(result)
      ? (result as { activate?: unknown }).activate
      : undefined;
  if (!Array.isArray(activate) || !activate.every((a) => typeof a === 'string')) {
    return {
      ok: false,
      message: `decision step "${stepName}" must return { activate: [...] } naming steps to run among: ${allowed}`,
    };
  }
  const unknown = activate.filter((a) => !children.includes(a));
  if (unknown.length > 0) {
    return {
      ok: false,
      message: `decision step "${stepName}" activated ${unknown.map((u) => `"${u}"`).join(', ')}, which ${unknown.length > 1 ? 'are' : 'is'} not among the steps that depend on it: ${allowed}`,
    };
  }
  return { ok: true, skip: children.filter((c) => !activate.includes(c)) };
}
