/**
 * Compiles templates' context schemas (ajv, one instance per engine) and validates contexts against
 * them: defaults are filled in on a copy, and every failing path is reported.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { formatProblems, type Problem, TaskerError } from '../errors.js';
import type { TaskTemplate } from './types.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

export type ContextCheck =
  | { readonly ok: true; readonly context: Record<string, unknown> }
  | { readonly ok: false; readonly problems: readonly Problem[] };

export interface ContextValidator {
  /** Compiles the template's schema; throws TASKER_INVALID_DEFINITION when the schema itself is invalid. */
  compile(template: TaskTemplate): void;
  /** Validates (a copy of) a context; defaults from the schema are filled in. */
  check(template: TaskTemplate, context: unknown): ContextCheck;
}

function ajvProblems(errors: readonly ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).map((e) => {
    let path = e.instancePath || '/';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      path = `${e.instancePath}/${String(e.params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path = `${e.instancePath}/${String(e.params.additionalProperty)}`;
      message = 'is not allowed by the schema';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${JSON.stringify(e.params.allowedValues)}`;
    }
    return { path, message };
  });
}

export function createContextValidator(): ContextValidator {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
  addFormats(ajv);
  const compiled = new WeakMap<TaskTemplate, ValidateFunction>();

  return {
    compile(template) {
      if (!template.contextSchema || compiled.has(template)) return;
      const schema = template.contextSchema as Record<string, unknown>;
      let problems: Problem[] = [];
      if (!ajv.validateSchema(schema)) {
        problems = ajvProblems(ajv.errors).map((p) => ({
          path: `contextSchema${p.path === '/' ? '' : p.path}`,
          message: p.message,
        }));
      } else {
        try {
          compiled.set(template, ajv.compile(schema));
        } catch (error) {
          problems = [{ path: 'contextSchema', message: (error as Error).message }];
        }
      }
      if (problems.length > 0) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          `invalid context schema of ${template.fullName}:\n${formatProblems(problems)}`,
          { details: problems },
        );
      }
    },

    check(template, context) {
      if (context === null || typeof context !== 'object' || Array.isArray(context)) {
        return { ok: false, problems: [{ path: '/', message: 'the context must be a JSON object' }] };
      }
      const copy = structuredClone(context) as Record<string, unknown>;
      if (!template.contextSchema) return { ok: true, context: copy };
      let validate = compiled.get(template);
      if (!validate) {
        this.compile(template);
        validate = compiled.get(template)!;
      }
      if (validate(copy)) return { ok: true, context: copy };
      return { ok: false, problems: ajvProblems(validate.errors) };
    },
  };
}
