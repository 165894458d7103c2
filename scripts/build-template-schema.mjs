// Writes schemas/task-template.schema.json from the template format's zod schema (run after the build;
// test/templates/template-schema.test.ts fails when the committed file is stale).
import { writeFileSync } from 'node:fs';
import { taskTemplateJsonSchema } from '../dist/templates/template-format.js';

const target = new URL('../schemas/task-template.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(taskTemplateJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
