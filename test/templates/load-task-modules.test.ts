/**
 * Tasks written in code, in the templates directory beside YAML ones: modules exporting defineTask
 * results (built, or builders left unbuilt) load and run; every problem names its file and export.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkflows, registerWorkflows } from '../../src/templates/load-templates.js';
import { BACKENDS, testTasker } from '../helpers.js';

// The built package, as a project gets it (npm test builds first; run `npm run build` before this file).
const SRC = join(import.meta.dirname, '../../dist/index.js');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-task-modules-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text.replaceAll('TASKER', JSON.stringify(SRC)));
  }
  return dir;
}

const TYPED = `
import { defineTask } from TASKER;
import { double } from './_math.ts';
// A builder exported without .build(): the loader builds it.
export const pipeline = defineTask({ namespace: 'code', name: 'pipeline', version: '1.0.0' })
  .step('double', ({ context }) => double(Number(context.n)))
  .step('add_one', { dependsOn: ['double'] }, ({ parents }) => parents.double + 1);
export default pipeline;
`;

const BUILT = `
import { defineTask } from TASKER;
export const other = defineTask({ namespace: 'code', name: 'other', steps: [{ name: 'only', handler: () => 'ok' }] });
`;

describe('task modules in the templates directory', () => {
  it('load beside YAML templates; helper modules (_name) and handler modules are not tasks', async () => {
    const cwd = project({
      'workflows/pipeline.ts': TYPED,
      'workflows/other.mjs': BUILT,
      'workflows/_math.ts': 'export const double = (n: number) => n * 2;',
      'workflows/yaml.yaml':
        'name: from_yaml\nnamespace_name: code\nstep_templates:\n  - name: s\n    handler: ./handlers.ts#s\n',
      'workflows/handlers.ts': 'export const s = () => 1;',
    });
    const loaded = await loadWorkflows({ templatesDir: 'workflows', cwd });
    expect(loaded.problems).toEqual([]);
    expect(loaded.templates.map((t) => t.fullName).sort()).toEqual([
      'code.from_yaml@0.1.0',
      'code.other@0.1.0',
      'code.pipeline@1.0.0',
    ]);
    expect(loaded.files.map((f) => f.slice(cwd.length + 1)).sort()).toEqual([
      'workflows/other.mjs',
      'workflows/pipeline.ts',
      'workflows/yaml.yaml',
    ]);
  });

  it('report every problem with its file and export', async () => {
    const cwd = project({
      'workflows/invalid.ts': `import { defineTask } from TASKER;\nexport const t = defineTask({ name: 'bad name!', steps: [] });\n`,
      'workflows/unbuilt.ts': `import { defineTask } from TASKER;\nexport const t = defineTask({ name: 'u' }).step('a', { dependsOn: ['zz'] } as never, () => 1);\n`,
      'workflows/named.ts': `import { defineTask } from TASKER;\nexport const t = defineTask({ name: 'n' }).step('a', 'ghost').build();\n`,
      'workflows/nothing.ts': 'export const answer = 42;\n',
      'workflows/twice.ts': `import { defineTask } from TASKER;\nexport const t = defineTask({ name: 'n' }).step('a', () => 1).build();\n`,
      'workflows/twice.yaml':
        'name: n\nstep_templates:\n  - name: a\n    handler: http\n    handler_config: { url: "http://x" }\n',
    });
    const loaded = await loadWorkflows({ templatesDir: 'workflows', cwd });
    const problems = loaded.problems.map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^workflows\/invalid\.ts: name: expected letters/),
        expect.stringMatching(/^workflows\/invalid\.ts: steps: expected at least one step/),
        expect.stringMatching(
          /^workflows\/unbuilt\.ts \(export t\): steps\[0\]\.dependsOn\[0\]: unknown step "zz"/,
        ),
        expect.stringMatching(
          /^workflows\/named\.ts \(export t\): steps\[0\] \(a\)\.handler: no handler named "ghost"/,
        ),
        expect.stringMatching(/^workflows\/nothing\.ts: exports no task/),
        expect.stringMatching(
          /^workflows\/twice\.yaml: default\/n@0\.1\.0 is also defined in workflows\/twice\.ts/,
        ),
      ]),
    );
    expect(problems).toHaveLength(6);
  });
});

describe.each(BACKENDS)('a task module on %s', (backend) => {
  it('registers and runs to completion', async () => {
    const cwd = project({
      'workflows/pipeline.ts': TYPED,
      'workflows/_math.ts': 'export const double = (n: number) => n * 2;',
    });
    const { tasker } = await testTasker(backend);
    registerWorkflows(tasker, await loadWorkflows({ templatesDir: 'workflows', cwd }));
    await tasker.startWorker();
    const task = await tasker.createTask({ namespace: 'code', name: 'pipeline', context: { n: 4 } });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
    expect(done.steps.map((s) => [s.name, s.results])).toEqual([
      ['double', 8],
      ['add_one', 9],
    ]);
  }, 180_000);
});
