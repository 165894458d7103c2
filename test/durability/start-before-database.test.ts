/**
 * A fleet that starts before its database (containers, a restart of both): `tasker worker` and
 * `tasker serve`, as child processes of the built CLI, wait for PostgreSQL with one log line per try,
 * the server live but not ready meanwhile; when the database comes they become ready and run a task. When
 * it never comes they exit 6 with one line and no stack. The database is a TCP stand-in in front of the
 * shared server, down until the test brings it up.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { TaskWithSteps } from '../../src/model/types.js';
import { databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL } from '../helpers.js';
import { type DatabaseProxy, startDatabaseProxy } from './database-proxy.js';
import { DIST_BUILT } from './processes.js';

const describePg = PG_URL && DIST_BUILT ? describe : describe.skip;

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

const PASSWORD = 'never-printed-7f3a';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The project, and the environment of a CLI that reaches the database through the proxy. */
function project(proxy: DatabaseProxy): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempProject({
    'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
    'templates/double.yaml': TEMPLATE,
    'handlers/demo.ts': HANDLERS,
  });
  const env = databaseEnv('postgres', dir);
  const url = new URL(proxy.urlFor(env.DATABASE_URL!));
  url.password = PASSWORD; // the local server trusts the user; the password must still never be printed
  return { dir, env: { ...env, DATABASE_URL: url.toString() } };
}

/** The lines of stderr that are not JSON log lines. */
function plainLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('{'))
    .filter((line) => !line.includes('ExperimentalWarning') && !line.includes('--trace-warnings'));
}

let proxy: DatabaseProxy | null = null;
afterEach(async () => {
  await proxy?.close();
  proxy = null;
});

describePg('starting before the database (PostgreSQL, child processes)', { timeout: 180_000 }, () => {
  test('worker and server wait, live but not ready, then run a task once the database comes', async () => {
    proxy = await startDatabaseProxy(PG_URL!);
    const { dir, env } = project(proxy);
    const waitingFor = `waiting for the database at 127.0.0.1:${proxy.port}/`;
    const worker = spawnCli(['worker'], dir, env);
    const port = await freePort();
    const served = spawnCli(['serve', '--no-worker', '--port', String(port)], dir, env);
    await Promise.all([worker.waitFor(waitingFor), served.waitFor(waitingFor)]);

    const base = `http://127.0.0.1:${port}/tasker`;
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'fail', checks: { database: { status: 'fail' } } });
    const tasks = await fetch(`${base}/tasks`);
    expect(tasks.status).toBe(503);
    expect(tasks.headers.get('retry-after')).toBe('5');
    expect(await tasks.json()).toMatchObject({ code: 'TASKER_DATABASE_UNAVAILABLE', status: 503 });

    await proxy.up();
    await Promise.all([served.waitFor('dashboard '), worker.waitFor(' started (concurrency')]);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);

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
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(task?.state).toBe('complete');
    expect(task?.steps.find((s) => s.name === 'second')?.results).toEqual({ n: 12 });

    worker.child.kill('SIGTERM');
    served.child.kill('SIGTERM');
    const [w, s] = await Promise.all([worker.result, served.result]);
    expect(w.code, w.stderr).toBe(0);
    expect(s.code, s.stderr).toBe(0);
    for (const out of [w.stderr, s.stderr]) {
      // One line per try, naming what is awaited, the attempt and the next try.
      expect(out).toMatch(
        /waiting for the database at 127\.0\.0\.1:\d+\/\S+ \(connection refused\): attempt 1 failed, next try in/,
      );
      expect(out).toContain('is reachable (attempt');
      expect(out).not.toContain(PASSWORD);
    }
  });

  test('when the database never comes, both exit 6 within the limit with one line and no stack', async () => {
    proxy = await startDatabaseProxy(PG_URL!);
    const { dir, env } = project(proxy);
    const port = await freePort();
    const [w, s] = await Promise.all([
      spawnCli(['worker', '--connect-timeout', '2000'], dir, env).result,
      spawnCli(['serve', '--port', String(port)], dir, { ...env, TASKER_DATABASE_CONNECT_TIMEOUT_MS: '2000' })
        .result,
    ]);
    for (const result of [w, s]) {
      expect(result.code, result.stderr).toBe(6);
      const lines = plainLines(result.stderr);
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^error: the database at 127\.0\.0\.1:\d+\/\S+ is not reachable \(connection refused\) after \d+ attempts in [\d.]+ s: start it or correct database\.url; to wait longer, raise database\.connectTimeoutMs \(now 2000 ms\)$/,
      );
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stderr).not.toContain(PASSWORD);
      expect(result.stderr).toContain('"attempt":1');
    }
    // The server had bound its port, and let it go.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => again.close(resolve));
  });
});
