/**
 * A task's context schema as the engine needs it: JSON Schema. A zod 4 schema is converted (draft-07, the
 * shape of the input, so properties with a default are optional and ajv fills them in). The engine
 * validates contexts with that JSON Schema alone: a schema it cannot express (transforms, dates) is
 * refused, naming why; custom refinements (`.refine`) have no JSON Schema form and are not checked.
 */
import { z } from 'zod';
import type { Problem } from '../errors.js';
import type { JsonSchema, ZodSchemaOf } from './types.js';

/** A zod 4 schema (from this package's zod or the project's own copy). */
export function isZodSchema(value: unknown): value is ZodSchemaOf {
  return (
    typeof value === 'object' && value !== null && typeof (value as { _zod?: unknown })._zod === 'object'
  );
}

function isZod3Schema(value: unknown): boolean {
  const v = value as { _def?: unknown; safeParse?: unknown } | null;
  return typeof v === 'object' && v !== null && v._def !== undefined && typeof v.safeParse === 'function';
}

/** The JSON Schema of a context schema given as JSON Schema or zod; problems say what is wrong. */
export function contextJsonSchema(schema: unknown): { schema: unknown; problems: Problem[] } {
  if (isZodSchema(schema)) {
    try {
      const zod = schema as unknown as z.core.$ZodType;
      // The output side throws on transforms: the engine passes handlers the validated JSON, never a
      // transformed value, so a schema with one would type the context wrongly.
      z.toJSONSchema(zod, { target: 'draft-07', io: 'output' });
      const json = z.toJSONSchema(zod, { target: 'draft-07', io: 'input' });
      return { schema: json as JsonSchema, problems: [] };
    } catch (error) {
      return {
        schema: undefined,
        problems: [
          {
            path: 'contextSchema',
            message: `this zod schema cannot be written as JSON Schema, which the engine validates contexts with: ${(error as Error).message}`,
          },
        ],
      };
    }
  }
  if (isZod3Schema(schema)) {
    return {
      schema: undefined,
      problems: [
        {
          path: 'contextSchema',
          message: 'expected a zod 4 schema (import { z } from "zod" at version 4); this looks like zod 3',
        },
      ],
    };
  }
  return { schema, problems: [] };
}
