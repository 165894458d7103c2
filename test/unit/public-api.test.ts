/**
 * The public API fits on a page: src/index.ts exports by name only, and every value it exports is named
 * in docs/library.md (so nothing leaks out undocumented, and the docs name nothing that is gone).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as api from '../../src/index.js';
import { testTasker } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');

test('src/index.ts has no export *', () => {
  const index = readFileSync(join(root, 'src', 'index.ts'), 'utf8');
  expect(index).not.toMatch(/export \*/);
});

test('every exported value is named in docs/library.md, and every name there is exported', () => {
  const docs = readFileSync(join(root, 'docs', 'library.md'), 'utf8');
  const section = docs.slice(docs.indexOf('## Exported values'));
  const documented = new Set([...section.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]!));
  const exported = Object.keys(api).sort();
  expect(exported.filter((name) => !documented.has(name))).toEqual([]);
  const types = new Set(['Tasker', 'TaskerOptions', 'CreateTaskRequest', 'Task', 'Step', 'StepContext']);
  expect([...documented].filter((name) => !exported.includes(name) && !types.has(name))).toEqual([]);
});

test('every Tasker method is listed under its purpose', async () => {
  const docs = readFileSync(join(root, 'docs', 'library.md'), 'utf8');
  const table = docs.slice(docs.indexOf('## The `Tasker` methods'), docs.indexOf('## Exported values'));
  const { tasker } = await testTasker('pglite');
  const names = Object.keys(tasker).sort();
  expect(names.length).toBeGreaterThan(30);
  expect(names.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
});
