/**
 * Checks a task context against its template's JSON schema in the browser, with the same ajv options and
 * error wording as the engine, so the form shows each bad field before the request is sent. The server
 * still validates: this is for quick feedback only.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export type ContextCheck =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

function problemsOf(errors: readonly ErrorObject[] | null | undefined): FieldProblem[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'required') {
      return { path: `${e.instancePath}/${String(e.params.missingProperty)}`, message: 'is required' };
    }
    if (e.keyword === 'additionalProperties') {
      return {
        path: `${e.instancePath}/${String(e.params.additionalProperty)}`,
        message: 'is not allowed by the schema',
      };
    }
    if (e.keyword === 'enum') {
      return {
        path: e.instancePath || '/',
        message: `must be one of ${JSON.stringify(e.params.allowedValues)}`,
      };
    }
    return { path: e.instancePath || '/', message: e.message ?? 'is invalid' };
  });
}

/** Compiles a schema once; the returned function checks JSON text typed into the form. */
export function contextChecker(
  schema: Record<string, unknown> | null | undefined,
): (text: string) => ContextCheck {
  let validate: ValidateFunction | null = null;
  let schemaProblem: string | null = null;
  if (schema && Object.keys(schema).length > 0) {
    try {
      const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
      addFormats(ajv);
      validate = ajv.compile(schema);
    } catch (error) {
      schemaProblem = `the template's schema could not be compiled here (${(error as Error).message}); the server will check`;
    }
  }
  return (text) => {
    let value: unknown;
    try {
      value = text.trim() === '' ? {} : JSON.parse(text);
    } catch (error) {
      return {
        ok: false,
        problems: [{ path: '/', message: `is not valid JSON: ${(error as Error).message}` }],
      };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, problems: [{ path: '/', message: 'must be a JSON object' }] };
    }
    if (schemaProblem) return { ok: true, value };
    if (validate && !validate(value)) return { ok: false, problems: problemsOf(validate.errors) };
    return { ok: true, value };
  };
}
