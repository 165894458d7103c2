import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTaskerError } from '../../src/errors.js';
import { loadWorkflows, registerWorkflows } from '../../src/templates/load-templates.js';
import { BACKENDS, testTasker } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-templates-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const GOOD = `
name: pipeline
namespace_name: demo
version: 1.2.0
schema:
  type: object
  required: [n]
  properties: { n: { type: integer } }
step_templates:
  - name: double
    handler: double
  - name: add_one
    depends_on_step: double
    handler: ./more/add.ts#addOne
  - name: square
    depends_on_step: add_one
    handler: ./more/square.mjs
environments:
  test:
    step_templates:
      - name: square
        default_retry_limit: 1
`;

describe('loading a directory of templates', () => {
  it('loads templates with handlers from the handlers directory and module paths', async () => {
    const cwd = project({
      'templates/pipeline.yaml': GOOD,
      'templates/more/add.ts': 'export const addOne = ({ parents }: { parents: any }) => parents.double + 1;',
      'templates/more/square.mjs': 'export default ({ parents }) => parents.add_one ** 2;',
      'handlers/math.ts':
        'export function double({ context }: { context: { n: number } }) { return context.n * 2; }',
    });
    const loaded = await loadWorkflows({
      templatesDir: 'templates',
      handlersDir: 'handlers',
      environment: 'test',
      cwd,
    });
    expect(loaded.problems).toEqual([]);
    expect(loaded.files).toEqual([join(cwd, 'templates/pipeline.yaml')]);
    expect([...loaded.handlers.keys()]).toEqual(['double']);
    const [template] = loaded.templates;
    expect(template!.fullName).toBe('demo.pipeline@1.2.0');
    expect(template!.steps.map((s) => typeof s.handler)).toEqual(['string', 'function', 'function']);
    expect(template!.steps[2]!.retryLimit).toBe(1);
  });

  it('reports every problem in every file at once, naming file, step and key', async () => {
    const cwd = project({
      'templates/a.yaml': `name: a\nstep_templates:\n  - name: one\n    handler: nowhere\n  - name: two\n    handler: ./missing.ts\n`,
      'templates/b.yml': `name: b\nstep_templates:\n  - name: x\n    handler: http\n    handler_config: { method: GET }\n`,
      'templates/c.yaml': 'name: c\nstep_templates: [\n',
      'templates/d.yaml': `name: d\nschema: { type: nonsense }\nstep_templates:\n  - name: s\n    handler: http\n    handler_config: { url: 'http://x' }\n`,
      'templates/e.yaml': `name: a\nstep_templates:\n  - name: one\n    handler: http\n    handler_config: { url: 'http://x' }\n`,
      'templates/f.yaml': `name: a\nstep_templates:\n  - name: one\n    handler: http\n    handler_config: { url: 'http://x' }\n`,
    });
    const loaded = await loadWorkflows({ templatesDir: 'templates', cwd });
    const text = loaded.problems.map((p) => `${p.path}: ${p.message}`);
    expect(text).toEqual([
      expect.stringMatching(
        /^templates\/a\.yaml: step_templates\[0\] \(one\)\.handler: no handler named "nowhere"; expected a registered handler \(http\)/,
      ),
      expect.stringMatching(
        /^templates\/a\.yaml: step_templates\[1\] \(two\)\.handler: module .*missing\.ts not found$/,
      ),
      expect.stringMatching(/^templates\/b\.yml: step_templates\[0\] \(x\)\.handler_config\.url: /),
      expect.stringMatching(/^templates\/c\.yaml: line \d+, column \d+: invalid YAML/),
      expect.stringMatching(/^templates\/d\.yaml: schema\/type: must be one of/),
      'templates/d.yaml: schema/type: must be array',
      'templates/d.yaml: schema/type: must match a schema in anyOf',
      'templates/f.yaml: default/a@0.1.0 is also defined in templates/e.yaml; bump the version of one',
    ]);
  });

  it('reports a handlers module that cannot load and a missing templates directory', async () => {
    const cwd = project({ 'handlers/broken.ts': 'export const x = ;' });
    const loaded = await loadWorkflows({ templatesDir: 'nope', handlersDir: 'handlers', cwd });
    expect(loaded.problems.map((p) => p.path)).toEqual(['handlers/broken.ts', 'nope']);
    expect(loaded.problems[1]!.message).toBe('templates directory not found');
  });
});

describe.each(BACKENDS)('running a YAML workflow (%s)', (backend) => {
  it('registers the templates and handlers and runs a task to completion', async () => {
    const cwd = project({
      'templates/pipeline.yaml': GOOD,
      'templates/more/add.ts': 'export const addOne = ({ parents }: { parents: any }) => parents.double + 1;',
      'templates/more/square.mjs': 'export default ({ parents }) => parents.add_one ** 2;',
      'handlers/math.ts':
        'export function double({ context }: { context: { n: number } }) { return context.n * 2; }',
    });
    const { tasker } = await testTasker(backend);
    const loaded = await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd });
    registerWorkflows(tasker, loaded);
    const task = await tasker.createTask({ namespace: 'demo', name: 'pipeline', context: { n: 3 } });
    await tasker.startWorker();
    const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
    expect(done.state).toBe('complete');
    expect(done.steps.map((s) => [s.name, s.results])).toEqual([
      ['double', 6],
      ['add_one', 7],
      ['square', 49],
    ]);
  }, 180_000); // the first test of the file pays for starting the embedded database on a busy machine

  it("binds a batch step's item handler by module path or name, and compensation steps by name", async () => {
    const cwd = project({
      'templates/pages.yaml': [
        'name: pages',
        'on_failure: alert',
        'step_templates:',
        '  - { name: plan, handler: plan, kind: batch, batch: { handler: ./items.ts#summarize } }',
        '  - { name: again, handler: plan, kind: batch, depends_on_step: plan, batch: { handler: double } }',
        '  - { name: alert, handler: ./items.ts#alert, kind: compensation }',
        '',
      ].join('\n'),
      'templates/items.ts':
        'export const summarize = ({ inputs }: { inputs: number }) => inputs * 10;\nexport const alert = () => null;',
      'handlers/plan.ts':
        'export const plan = () => ({ items: [1, 2, 3] });\nexport const double = ({ inputs }: { inputs: number }) => inputs * 2;',
    });
    const { tasker } = await testTasker(backend);
    const loaded = await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd });
    expect(loaded.problems).toEqual([]);
    registerWorkflows(tasker, loaded);
    await tasker.startWorker();
    const task = await tasker.createTask({ name: 'pages', context: {} });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
    expect(done.state).toBe('complete');
    expect(done.steps.find((s) => s.name === 'plan')!.results).toEqual([10, 20, 30]);
    expect(done.steps.find((s) => s.name === 'again')!.results).toEqual([2, 4, 6]);

    const bad = project({
      'templates/x.yaml':
        'name: x\nstep_templates:\n  - { name: a, handler: a, kind: batch, batch: { handler: ghost } }\n',
      'handlers/a.ts': 'export const a = () => ({ items: [] });',
    });
    const refused = await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd: bad });
    expect(refused.problems.map((p) => p.path)).toEqual([
      expect.stringMatching(/step_templates\[0\] \(a\)\.batch\.handler$/),
    ]);
    expect(refused.problems[0]!.message).toMatch(/no handler named "ghost"/);
  });

  it('refuses to register templates with problems', async () => {
    const { tasker } = await testTasker(backend);
    const cwd = project({
      'templates/x.yaml': 'name: x\nstep_templates:\n  - name: a\n    handler: ghost\n',
    });
    const loaded = await loadWorkflows({ templatesDir: 'templates', cwd });
    let thrown: unknown;
    try {
      registerWorkflows(tasker, loaded);
    } catch (error) {
      thrown = error;
    }
    expect(isTaskerError(thrown, 'TASKER_INVALID_DEFINITION')).toBe(true);
    expect(tasker.templates()).toEqual([]);
  });
});
