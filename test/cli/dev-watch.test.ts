// `tasker dev` (serve --watch) as a developer uses it: the built CLI in a child process; editing a handler
// or a template reloads them and the worker runs the new code; a broken edit is reported and the previous
// version keeps serving; production refuses watch mode.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { TaskWithSteps } from '../../src/model/types.js';
import { cli, databaseEnv, spawnCli, tempProject } from './cli-helpers.js';

const template = (name: string) => `
name: ${name}
namespace_name: demo
version: 1.0.0
step_templates:
  - name: answer
    handler: answer
`;
const handler = (value: string) => `export const answer = () => ({ value: '${value}' });\n`;

async function runTask(base: string, name: string): Promise<TaskWithSteps> {
  const created = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ namespace: 'demo', name, context: {} }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = (await created.json()) as { id: number };
  for (let i = 0; i < 300; i++) {
    const task = (await (await fetch(`${base}/tasks/${id}`)).json()) as TaskWithSteps;
    if (task.state === 'complete' || task.state === 'error') return task;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${id} did not finish`);
}

it('tasker dev reloads edited handlers and templates, and keeps the old version on a broken edit', {
  timeout: 240_000,
}, async () => {
  const dir = tempProject({
    'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
    'templates/ask.yaml': template('ask'),
    'handlers/answer.ts': handler('first'),
  });
  const dev = spawnCli(['dev', '--port', '0'], dir, databaseEnv('pglite', dir));
  await dev.waitFor('reloads on change');
  const base = /Tasker API on (\S+)/.exec(dev.output())![1]!;
  expect((await runTask(base, 'ask')).steps[0]!.results).toEqual({ value: 'first' });

  writeFileSync(join(dir, 'handlers/answer.ts'), handler('second'));
  await dev.waitFor('reloaded after a change to handlers/answer.ts');
  expect((await runTask(base, 'ask')).steps[0]!.results).toEqual({ value: 'second' });

  // A broken template: the problem is printed, the running version stays.
  writeFileSync(
    join(dir, 'templates/broken.yaml'),
    'name: broken\nstep_templates:\n  - name: a\n    handlr: answer\n',
  );
  await dev.waitFor('still serving the previous version');
  expect(dev.output()).toContain('did you mean "handler"');
  expect((await runTask(base, 'ask')).steps[0]!.results).toEqual({ value: 'second' });

  // Fixed, and a new template beside it: both run.
  writeFileSync(join(dir, 'templates/broken.yaml'), template('fixed'));
  await dev.waitFor('demo/fixed@1.0.0');
  expect((await runTask(base, 'fixed')).state).toBe('complete');
  expect((await runTask(base, 'ask')).steps[0]!.results).toEqual({ value: 'second' });

  dev.child.kill('SIGTERM');
  expect((await dev.result).code).toBe(0);
});

it('watch mode is refused in production', async () => {
  const dir = tempProject({ 'templates/ask.yaml': template('ask'), 'handlers/answer.ts': handler('x') });
  const result = await cli(['dev', '--port', '0'], dir, {
    ...databaseEnv('pglite', dir),
    NODE_ENV: 'production',
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('refused because NODE_ENV is production');
  writeFileSync(join(dir, 'tasker.config.yaml'), 'workflows:\n  environment: production\n');
  const serve = await cli(['serve', '--watch', '--port', '0'], dir, databaseEnv('pglite', dir));
  expect(serve.code).toBe(2);
  expect(serve.stderr).toContain('refused because workflows.environment is production');
});
