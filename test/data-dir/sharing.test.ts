/**
 * One embedded data directory, several processes (the built CLI in child processes): the first owns it
 * and serves it; the others are its clients and see the same tasks; nothing is lost when they stop; a
 * SIGKILLed owner is replaced by the next process with all the data; of two processes starting at once
 * exactly one owns the directory; notifications cross processes (worker wake-ups with the fallback poll
 * switched off, live updates of `tasker serve`).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDataDir } from '../../src/db/data-dir/open-data-dir.js';
import { listGenerations, readRecord } from '../../src/db/data-dir/owner-record.js';
import type { Database } from '../../src/db/database.js';
import { createTasker, type Tasker } from '../../src/index.js';
import type { TaskWithSteps } from '../../src/model/types.js';
import { cli, json, spawnCli, tempProject } from '../cli/cli-helpers.js';

const TEMPLATES = {
  'templates/double.yaml': `
name: double
namespace_name: demo
version: 1.0.0
step_templates:
  - name: first
    handler: twice
  - name: second
    depends_on_step: first
    handler: twice
`,
  'templates/slow.yaml': `
name: slow
namespace_name: demo
version: 1.0.0
step_templates:
  - name: wait
    handler: waitForCancel
`,
  'handlers/demo.mjs': `
export function twice({ context, parents }) {
  return { n: (parents.first?.n ?? context.n ?? 1) * 2 };
}
export async function waitForCancel({ signal }) {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 120000);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); });
  });
  return {};
}
`,
};

function project(): { dir: string; dataDir: string } {
  const dir = tempProject({
    // What `tasker init` writes: the data directory in the config file.
    'tasker.config.yaml':
      'database:\n  dataDir: ./.tasker\nworkflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
    ...TEMPLATES,
  });
  return { dir, dataDir: join(dir, '.tasker') };
}

const ownerLine = (dataDir: string) =>
  `database: embedded PGlite in ${dataDir} (owned by this process, shared with others), schema tasker`;
const clientLine = (dataDir: string, pid: number, command: string) =>
  `database: embedded PGlite in ${dataDir} (shared: owned by pid ${pid}, ${command}), schema tasker`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('several processes on one embedded data directory', { timeout: 300_000 }, () => {
  it('tasker serve owns it; CLI run, list, status and cancel beside it see the same tasks; none is lost', async () => {
    const { dir, dataDir } = project();
    const serve = spawnCli(['serve', '--port', '0'], dir);
    await serve.waitFor('dashboard ');
    const servePid = serve.child.pid!;
    expect(serve.output()).toContain(ownerLine(dataDir));
    const base = /Tasker API on (\S+)/.exec(serve.output())![1]!;

    // /health/status says the same as the start-up line.
    const health = (await (await fetch(`${base}/health/status`)).json()) as {
      database: Record<string, unknown>;
    };
    expect(health.database).toMatchObject({
      kind: 'pglite',
      dataDir,
      schema: 'tasker',
      sharing: { role: 'owner', socket: join(dataDir, '.s.PGSQL.5432') },
      text: ownerLine(dataDir).slice('database: '.length),
    });

    // Live updates from the owner, for changes made by other processes.
    const events = await subscribe(`${base}/events`);

    const [runA, runB, listing] = await Promise.all([
      cli(['run', 'demo/double', '--context', '{"n":3}', '--json'], dir),
      cli(['run', 'demo/double', '--context', '{"n":5}', '--json'], dir),
      cli(['list', '--json'], dir),
    ]);
    for (const run of [runA, runB]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(clientLine(dataDir, servePid, 'tasker serve --port 0'));
    }
    expect(listing.code, listing.stderr).toBe(0);
    const a = json<TaskWithSteps>(runA);
    const b = json<TaskWithSteps>(runB);
    expect(a.id).not.toBe(b.id);
    expect(a.steps.find((s) => s.name === 'second')!.results).toEqual({ n: 12 });

    // A task the server's worker runs, cancelled from the CLI.
    const created = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'demo', name: 'slow', context: {} }),
    });
    expect(created.status).toBe(201);
    const slow = ((await created.json()) as { id: number }).id;
    await until(async () => {
      const task = (await (await fetch(`${base}/tasks/${slow}`)).json()) as TaskWithSteps;
      return task.steps[0]!.state === 'in_progress';
    });
    const cancel = await cli(['cancel', String(slow)], dir);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`task ${slow}: cancelled`);
    const status = await cli(['status', String(slow), '--json'], dir);
    expect(json<TaskWithSteps>(status).state).toBe('cancelled');

    // The server heard of the CLI's tasks as they changed (notifications relayed across processes).
    await until(async () => events.text().includes(`"id":${a.id},"state":"complete"`));
    events.stop();

    serve.child.kill('SIGTERM');
    expect((await serve.result).code).toBe(0);

    // Both stopped: a fresh process opens the directory and finds everything.
    const after = await cli(['list', '--json'], dir);
    expect(after.code, after.stderr).toBe(0);
    const tasks = json<{ tasks: Array<{ id: number; state: string }> }>(after).tasks;
    expect(tasks.map((t) => [t.id, t.state]).sort()).toEqual(
      [
        [a.id, 'complete'],
        [b.id, 'complete'],
        [slow, 'cancelled'],
      ].sort(),
    );
  });

  it('a SIGKILLed owner is replaced by the next process, with all the data', async () => {
    const { dir, dataDir } = project();
    const serve = spawnCli(['serve', '--port', '0'], dir);
    await serve.waitFor(ownerLine(dataDir));
    const first = await cli(['run', 'demo/double', '--context', '{"n":1}', '--json'], dir);
    expect(first.code, first.stderr).toBe(0);
    serve.child.kill('SIGKILL');
    await serve.result;
    expect(readRecord(dataDir, 1)).toMatchObject({ pid: serve.child.pid, state: 'serving' }); // left behind

    const second = await cli(['run', 'demo/double', '--context', '{"n":2}', '--json'], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(ownerLine(dataDir)); // it took the directory over
    const listing = json<{ tasks: Array<{ id: number; state: string }> }>(await cli(['list', '--json'], dir));
    expect(listing.tasks.map((t) => [t.id, t.state]).sort()).toEqual(
      [
        [json<TaskWithSteps>(first).id, 'complete'],
        [json<TaskWithSteps>(second).id, 'complete'],
      ].sort(),
    );
    expect(listGenerations(dataDir)).toEqual([3]); // run took generation 2, list 3; the old records went
    expect(readRecord(dataDir, 3)).toMatchObject({ state: 'closed' });
  });

  it('of two workers started at once exactly one owns the directory; wake-ups cross processes; the other takes over when it stops', async () => {
    const { dir, dataDir } = project();
    // No fallback poll: a worker can only hear of new work through the relayed notifications.
    const env = { TASKER_POLL_INTERVAL_MS: '600000' };
    const workers = [0, 1].map(() => spawnCli(['worker', '--namespaces', 'demo'], dir, env));
    await Promise.all(workers.map((w) => w.waitFor('database: ')));
    const outputs = workers.map((w) => w.output());
    const owners = workers.filter((_, i) => outputs[i]!.includes(ownerLine(dataDir)));
    expect(owners).toHaveLength(1);
    const owner = owners[0]!;
    const client = workers.find((w) => w !== owner)!;
    expect(client.output()).toContain(
      clientLine(dataDir, owner.child.pid!, 'tasker worker --namespaces demo'),
    );
    expect(readRecord(dataDir, listGenerations(dataDir)[0]!)).toMatchObject({
      pid: owner.child.pid,
      state: 'serving',
    });

    const runNoWorker = (n: number) =>
      cli(
        ['run', 'demo/double', '--no-worker', '--context', `{"n":${n}}`, '--json', '--timeout', '120000'],
        dir,
      );
    const done = await runNoWorker(7);
    expect(done.code, done.stderr).toBe(0);
    expect(json<TaskWithSteps>(done).steps.find((s) => s.name === 'second')!.results).toEqual({ n: 28 });

    owner.child.kill('SIGTERM');
    expect((await owner.result).code).toBe(0);
    // The remaining worker takes the directory over and goes on working.
    await until(async () => {
      const [top] = listGenerations(dataDir);
      const record = top === undefined ? null : readRecord(dataDir, top);
      return record !== null && record !== 'unreadable' && record.pid === client.child.pid;
    });
    const later = await runNoWorker(9);
    expect(later.code, later.stderr).toBe(0);
    const task = json<TaskWithSteps>(later);
    expect(task.steps.find((s) => s.name === 'second')!.results).toEqual({ n: 36 });
    client.child.kill('SIGTERM');
    expect((await client.result).code).toBe(0);
  });

  it('a library createTasker owns and serves the directory; one that cannot serve makes the CLI refuse, naming it', async () => {
    const { dir, dataDir } = project();
    const tasker: Tasker = await createTasker({ database: { dataDir }, telemetry: { enabled: false } });
    cleanups.push(() => tasker.close());
    expect(tasker.database.sharing).toMatchObject({ role: 'owner', socket: join(dataDir, '.s.PGSQL.5432') });
    const listing = await cli(['list', '--json'], dir);
    expect(listing.code, listing.stderr).toBe(0);
    expect(json<{ tasks: unknown[] }>(listing).tasks).toEqual([]);

    const other = tempProject({ 'tasker.config.yaml': 'database:\n  dataDir: ./.tasker\n' });
    const unshared: Database = await openDataDir({ dataDir: join(other, '.tasker'), serve: false });
    cleanups.push(() => unshared.close());
    const refused = await cli(['list'], other);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(
      `the embedded database in ${join(other, '.tasker')} is in use by pid ${process.pid}`,
    );
    expect(refused.stderr).toContain('it cannot share the database (opened without sharing)');
    expect(refused.stderr).toContain(`Stop it first (kill ${process.pid})`);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Reads a server-sent event stream in the background. */
async function subscribe(url: string): Promise<{ text(): string; stop(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.status).toBe(200);
  let text = '';
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
      }
    } catch {
      // stopped
    }
  })();
  return { text: () => text, stop: () => controller.abort() };
}
