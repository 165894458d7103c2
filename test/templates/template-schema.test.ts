import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mapTemplate } from '../../src/templates/map-template.js';
import { taskTemplateJsonSchema } from '../../src/templates/template-format.js';

const root = join(import.meta.dirname, '../..');
const published = JSON.parse(readFileSync(join(root, 'schemas/task-template.schema.json'), 'utf8'));
const exampleDir = join(root, 'scaffold/project/templates');
const examples = readdirSync(exampleDir).filter((f) => f.endsWith('.yaml'));

describe('the published JSON Schema of the template format', () => {
  it('is up to date with the format (regenerate: npm run build && npm run build:schema)', () => {
    expect(published).toEqual(taskTemplateJsonSchema());
  });

  const validate = new Ajv({ strict: false, allErrors: true }).compile(published);

  it.each(examples)('accepts the example template %s, which also maps cleanly', (file) => {
    const template = parse(readFileSync(join(exampleDir, file), 'utf8'));
    expect(validate(template), JSON.stringify(validate.errors)).toBe(true);
    expect(mapTemplate(template, 'development').problems).toEqual([]);
  });

  it('rejects unknown keys and wrong types, as the loader does', () => {
    const bad = {
      name: 'x',
      step_templates: [{ name: 'a', handler: 'h', default_retry_limit: 'three', colour: 1 }],
    };
    expect(validate(bad)).toBe(false);
    const keywords = validate.errors!.map((e) => e.keyword).sort();
    expect(keywords).toEqual(['additionalProperties', 'type']);
  });
});
