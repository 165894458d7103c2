// `tasker serve` as a user runs it: the built CLI in a child process serving the API, the dashboard and a
// worker; a task created over HTTP runs to completion; SIGTERM stops it with exit code 0.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../src/model/types.js';
import { BACKENDS } from '../helpers.js';
import { databaseEnv, spawnCli, tempProject } from './cli-helpers.js';

const TEMPLATE = `
name: double
namespace_name: demo
version: 1.0.0
schema:
  type: object
  required: [n]
  properties: { n: { type: integer } }
step_templates:
  - name: first
    handler: twice
  - name: second
    depends_on_step: first
    handler: twice
`;

const HANDLERS = `
export function twice({ context, parents }: { context: { n: number }; parents: Record<string, any> }) {
  return { n: (parents.first?.n ?? context.n) * 2 };
}
`;

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(BACKENDS)('tasker serve on %s', { timeout: 240_000 }, (backend) => {
  it('serves the API and the dashboard and runs tasks created over HTTP', async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/double.yaml': TEMPLATE,
      'handlers/demo.ts': HANDLERS,
    });
    const port = await freePort();
    const served = spawnCli(['serve', '--port', String(port)], dir, {
      ...databaseEnv(backend, dir),
      TASKER_LOG_LEVEL: 'debug',
    });
    await served.waitFor('dashboard ');
    const base = `http://127.0.0.1:${port}/tasker`;

    const created = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'demo', name: 'double', context: { n: 3 } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    let task: TaskWithSteps | null = null;
    for (let i = 0; i < 300; i++) {
      task = (await (await fetch(`${base}/tasks/${id}`)).json()) as TaskWithSteps;
      if (task.state === 'complete' || task.state === 'error') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(task?.state).toBe('complete');
    expect(task?.steps.find((s) => s.name === 'second')?.results).toEqual({ n: 12 });

    const ui = await fetch(`${base}/ui/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<div id="app"');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);

    // A failed request is logged with its correlation id, and without what the client sent.
    const missing = await fetch(`${base}/tasks/999999`, {
      headers: { 'x-correlation-id': 'serve-404', authorization: 'Bearer serve-secret-token' },
    });
    expect(missing.status).toBe(404);
    await served.waitFor('"correlationId":"serve-404"');

    served.child.kill('SIGTERM');
    const done = await served.result;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('SIGTERM: stopping');
    const failure = `${done.stdout}\n${done.stderr}`.split('\n').find((l) => l.includes('"serve-404"'));
    expect(JSON.parse(failure!)).toMatchObject({ level: 20, status: 404, code: 'TASKER_TASK_NOT_FOUND' });
    expect(`${done.stdout}${done.stderr}`).not.toContain('serve-secret-token');
  });
});
