// Writes src/client/openapi.generated.ts: the REST API's types, generated from the server's OpenAPI
// document (run after the build; test/api/openapi-types.test.ts fails when the committed file is stale).
import { writeFileSync } from 'node:fs';
import { apiTypesSource } from '../dist/client/generate-types.js';

const target = new URL('../src/client/openapi.generated.ts', import.meta.url);
writeFileSync(target, await apiTypesSource());
console.log(`wrote ${target.pathname}`);
