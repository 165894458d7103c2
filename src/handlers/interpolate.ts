/**
 * `{{ path }}` placeholders in handler configuration, filled from what a step sees: `context.*`,
 * `parents.<step>.*`, `task.*`, `step.*`, `inputs.*`. Pure. A string that is exactly one placeholder
 * takes the value itself (a number stays a number); placeholders inside longer strings are stringified.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_$][\w$-]*(?:\.[\w$-]+|\[\d+\])*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_$][\w$-]*(?:\.[\w$-]+|\[\d+\])*)\s*\}\}$/;

/** Thrown when a placeholder names a value that is not there. */
export class MissingValueError extends Error {
  readonly placeholder: string;
  constructor(placeholder: string) {
    super(`placeholder {{${placeholder}}} has no value`);
    this.name = 'MissingValueError';
    this.placeholder = placeholder;
  }
}

/** Looks up `a.b[0].c` in a scope; undefined when any part is missing. */
export function lookUp(scope: unknown, path: string): unknown {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  let value: unknown = scope;
  for (const key of keys) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Fills the placeholders of one string. `encode` is applied to each inserted value (URLs use
 * encodeURIComponent so a value cannot change the URL's structure).
 */
export function interpolateString(
  template: string,
  scope: unknown,
  encode: (text: string) => string = (t) => t,
): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookUp(scope, path);
    if (value === undefined || value === null) throw new MissingValueError(path);
    return encode(stringify(value));
  });
}

/** Fills placeholders throughout a JSON value (object keys are left as written). */
export function interpolateValue(value: unknown, scope: unknown): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const found = lookUp(scope, whole[1]!);
      if (found === undefined) throw new MissingValueError(whole[1]!);
      return found;
    }
    return interpolateString(value, scope);
  }
  if (Array.isArray(value)) return value.map((v) => interpolateValue(v, scope));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateValue(v, scope)]));
  }
  return value;
}

/**
 * Fills a URL template. A placeholder at the very start is the base URL and goes in as it is
 * (`{{context.api_url}}/carts/{{context.cart_id}}`); every other value is percent-encoded, so a value
 * cannot change the URL's path or query structure.
 */
export function interpolateUrl(template: string, scope: unknown): string {
  const leading = /^\{\{\s*([^}]+?)\s*\}\}/.exec(template);
  if (!leading) return interpolateString(template, scope, encodeURIComponent);
  const base = lookUp(scope, leading[1]!);
  if (base === undefined || base === null) throw new MissingValueError(leading[1]!);
  return stringify(base) + interpolateString(template.slice(leading[0].length), scope, encodeURIComponent);
}
