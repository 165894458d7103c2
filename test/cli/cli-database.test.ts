// The built CLI against a real database: PGlite (a data directory per test) and PostgreSQL (a schema per
// test, when TASKER_TEST_DATABASE_URL is set). Each command is its own process, as a user runs it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../src/model/types.js';
import { BACKENDS } from '../helpers.js';
import { cli, databaseEnv, json, spawnCli, tempProject } from './cli-helpers.js';

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});

/** A local API answering GET /greeting?name=x with {"greeting": "hello x"}. */
async function greetingApi(): Promise<string> {
  server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ greeting: `hello ${name}` }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const TEMPLATE = `
name: greet
namespace_name: demo
version: 1.0.0
schema:
  type: object
  required: [name, api]
  properties: { name: { type: string }, api: { type: string } }
step_templates:
  - name: fetch
    handler: http
    handler_config:
      url: '{{context.api}}/greeting'
      query: { name: '{{context.name}}' }
  - name: shout
    depends_on_step: fetch
    handler: shout
`;

const SLOW = `
name: slow
namespace_name: demo
version: 1.0.0
step_templates:
  - name: wait
    handler: hold
`;

const FAILING = `
name: fails
namespace_name: demo
version: 1.0.0
step_templates:
  - name: prepare
    handler: shout
  - name: check
    depends_on_step: prepare
    handler: refuse
`;

const HANDLERS = `
import { PermanentError } from 'tasker-ts';
export function shout({ parents }: { parents: Record<string, any> }) {
  return { text: String(parents.fetch?.body?.greeting ?? 'nothing').toUpperCase() };
}
export function hold({ signal }: { signal: AbortSignal }) {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}
export function refuse() {
  throw new PermanentError('refused on purpose', { code: 'REFUSED' });
}
`;

function project() {
  return tempProject({
    'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
    'templates/greet.yaml': TEMPLATE,
    'templates/fails.yaml': FAILING,
    'templates/slow.yaml': SLOW,
    'handlers/demo.ts': HANDLERS,
  });
}

describe.each(BACKENDS)('the tasker command on %s', { timeout: 400_000 }, (backend) => {
  it('runs a YAML workflow to completion in-process; status, list and doctor show it', async () => {
    const dir = project();
    const env = databaseEnv(backend, dir);
    const api = await greetingApi();
    const run = await cli(
      ['run', 'demo/greet@1.0.0', '--context', JSON.stringify({ name: 'ada', api }), '--json'],
      dir,
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const task = json<TaskWithSteps>(run);
    expect(task.state).toBe('complete');
    expect(task.steps.map((s) => [s.name, s.results])).toEqual([
      ['fetch', { status: 200, body: { greeting: 'hello ada' } }],
      ['shout', { text: 'HELLO ADA' }],
    ]);

    const status = await cli(['status', String(task.id), '--json'], dir, env);
    expect(status.code).toBe(0);
    const shown = json<TaskWithSteps & { auditTrail: Array<{ toState: string }> }>(status);
    expect(shown.steps.every((s) => s.state === 'complete')).toBe(true);
    expect(shown.auditTrail.map((t) => t.toState)).toContain('complete');

    // Each command on PGlite boots the embedded database again: the rest runs on PostgreSQL only.
    if (backend === 'pglite') return;
    // A finished task is history: cancel refuses it with the documented exit code, in one line.
    const late = await cli(['cancel', String(task.id)], dir, env);
    expect(late.code).toBe(5);
    expect(late.stderr).toContain(`task ${task.id} is complete and cannot be cancelled`);
    expect(late.stderr).not.toMatch(/\n\s+at /);
    const list = await cli(['list', '--json'], dir, env);
    expect(json<{ tasks: Array<{ id: number; state: string }> }>(list).tasks).toEqual([
      expect.objectContaining({ id: task.id, state: 'complete' }),
    ]);
    // --parent: the task has no children; a bad id is a usage error naming the option.
    const children = await cli(['list', '--parent', String(task.id), '--json'], dir, env);
    expect(json<{ tasks: unknown[] }>(children).tasks).toEqual([]);
    const badParent = await cli(['list', '--parent', 'x'], dir, env);
    expect(badParent.code).toBe(2);
    expect(badParent.stderr).toContain('--parent expects a whole number of at least 1, got "x"');

    const doctor = await cli(['doctor', '--json'], dir, env);
    const report = json<{ ok: boolean; checks: Array<{ name: string; ok: boolean }> }>(doctor);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['config', true],
      ['database', true],
      ['migrations', true],
      ['templates', true],
    ]);
    expect(doctor.code).toBe(0);
  });

  it('exits 1 when the task fails; resolving the failed step by hand completes it', async () => {
    const dir = project();
    const env = databaseEnv(backend, dir);
    const run = await cli(['run', 'demo/fails', '--json'], dir, env);
    expect(run.code).toBe(1);
    const check = json<TaskWithSteps>(run).steps.find((s) => s.name === 'check')!;
    expect(check.state).toBe('error');
    expect(check.lastError).toMatchObject({ code: 'REFUSED', message: 'refused on purpose' });
    const resolve = await cli(
      ['resolve', String(check.id), '--results', '{"checked":"by hand"}', '--json'],
      dir,
      env,
    );
    expect(resolve.code, resolve.stderr).toBe(0);
    expect(json(resolve)).toEqual({ stepId: check.id, taskState: 'resolved_manually' });

    if (backend === 'postgres') {
      const missing = await cli(['resolve', '999999', '--results', '{}'], dir, env);
      expect(missing.code).toBe(4);
    } else {
      // Allowed on the embedded database too (another process on the data dir may run it); here none does.
      const noWorker = await cli(['run', 'demo/fails', '--no-worker', '--timeout', '1000'], dir, env);
      expect(noWorker.code, noWorker.stderr).toBe(7);
    }
  });
});

describe.runIf(BACKENDS.includes('postgres'))(
  'the tasker command with separate workers on postgres',
  { timeout: 400_000 },
  () => {
    it('retry and cancel follow the state machine with documented exit codes', async () => {
      const dir = project();
      const env = databaseEnv('postgres', dir);
      const run = await cli(['run', 'demo/fails'], dir, env);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('refused on purpose [REFUSED]');
      const taskId = /task (\d+) created/.exec(run.stdout)![1]!;
      const retry = await cli(['retry', taskId, '--json', '--reason', 'try again'], dir, env);
      expect(retry.code, retry.stderr).toBe(0);
      expect(json(retry)).toEqual({ taskId: Number(taskId), state: expect.any(String) });
      const cancel = await cli(['cancel', taskId], dir, env);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toContain('cancelled');
      const again = await cli(['retry', taskId], dir, env);
      expect(again.code).toBe(5);
    });

    it('Ctrl-C stops following a task (exit 130) and leaves it to other workers', async () => {
      const dir = project();
      const env = databaseEnv('postgres', dir);
      const run = spawnCli(['run', 'demo/slow'], dir, env);
      await run.waitFor('created');
      run.child.kill('SIGINT');
      const result = await run.result;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(/interrupted: task \d+ goes on/);
      const taskId = /task (\d+) created/.exec(result.stdout)![1]!;
      const status = json<TaskWithSteps>(await cli(['status', taskId, '--json', '--no-audit'], dir, env));
      expect(status.state).not.toBe('complete');
      // Ready for another worker, no attempt charged: never claimed (pending) when the interrupt came before
      // this process's worker claimed it, or released by it on stopping (waiting_for_retry, claimable at once)
      // when the step was already running, as on a loaded machine.
      expect(['pending', 'waiting_for_retry']).toContain(status.steps[0]!.state);
      expect(status.steps[0]!.attempts).toBe(0);
    });

    it('a `tasker worker` process runs what `tasker run --no-worker` creates, and stops on SIGTERM', async () => {
      const dir = project();
      const env = databaseEnv('postgres', dir);
      const api = await greetingApi();
      expect((await cli(['migrate'], dir, env)).code).toBe(0);
      const badPrefetch = await cli(['worker', '--prefetch', '-1'], dir, env);
      expect(badPrefetch.code).toBe(2);
      expect(badPrefetch.stderr).toContain('--prefetch expects a whole number of at least 0, got "-1"');
      const worker = spawnCli(
        ['worker', '--concurrency', '4', '--prefetch', '2', '--namespaces', 'demo'],
        dir,
        env,
      );
      await worker.waitFor('started');
      const run = await cli(
        [
          'run',
          'demo/greet',
          '--no-worker',
          '--context',
          JSON.stringify({ name: 'bob', api }),
          '--json',
          '--timeout',
          '120000',
        ],
        dir,
        env,
      );
      expect(run.code, run.stderr).toBe(0);
      const task = json<TaskWithSteps>(run);
      expect(task.steps.map((s) => s.workerId)).toEqual([expect.any(String), expect.any(String)]);
      worker.child.kill('SIGTERM');
      const stopped = await worker.result;
      expect(stopped.code).toBe(0);
      expect(stopped.stderr).toContain('started (concurrency 4, prefetch 2)');
      expect(stopped.stderr).toContain('SIGTERM: stopping');
      // Not a terminal: JSON lines, one per finished step and one for the task.
      const lines = stopped.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const finished = lines.filter((l) => l.taskId === task.id).map((l) => l.msg);
      expect(finished).toEqual(
        expect.arrayContaining([
          ...task.steps.map((s) => `step ${s.name} complete`),
          `task ${task.id} complete`,
        ]),
      );
    });

    it('on a terminal, `tasker worker` logs human-readable lines, a line per finished step', async () => {
      const dir = project();
      const env = databaseEnv('postgres', dir);
      const api = await greetingApi();
      expect((await cli(['migrate'], dir, env)).code).toBe(0);
      const worker = spawnCli(['worker', '--namespaces', 'demo'], dir, env, { terminal: true });
      await worker.waitFor('started');
      const run = await cli(
        ['run', 'demo/greet', '--no-worker', '--context', JSON.stringify({ name: 'bob', api }), '--json'],
        dir,
        env,
      );
      expect(run.code, run.stderr).toBe(0);
      const task = json<TaskWithSteps>(run);
      await worker.waitFor(`task ${task.id} complete`);
      worker.child.kill('SIGTERM');
      const text = (await worker.result).stdout.replaceAll('\r', '');
      const logLines = text.split('\n').filter((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+/.test(line));
      expect(text.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
      for (const step of task.steps) {
        expect(logLines.some((line) => line.includes(`INFO: step ${step.name} complete`))).toBe(true);
      }
      expect(logLines.some((line) => line.includes('INFO: worker started'))).toBe(true);
    });
  },
);
