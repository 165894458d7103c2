/**
 * Tasker behind a real PgBouncer in transaction mode: every query and transaction goes through the
 * pooler (a few server connections shared by more clients, so a client's transactions move between
 * server sessions), while LISTEN uses the direct connection `database.listenUrl` names. The worker has
 * no fallback poll here, so new work, cancellations and live updates can only arrive by NOTIFY.
 */

import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer } from '../../src/api/index.js';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { createTasker, defineTask, RetryableError, type Tasker } from '../../src/index.js';
import { CLI, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL, uniqueSchema } from '../helpers.js';
import { PGBOUNCER, PGBOUNCER_INSTALLED, type PgBouncer, startPgBouncer } from './pgbouncer.js';

if (PG_URL && !PGBOUNCER_INSTALLED) {
  console.warn(`PgBouncer tests skipped: ${PGBOUNCER} is missing (apt-get install -y pgbouncer)`);
}
const describeBouncer = PG_URL && PGBOUNCER_INSTALLED ? describe : describe.skip;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Collects server-sent events from a stream in the background. */
function collectEvents(response: Response): { events: SseEvent[]; stop(): Promise<void> } {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  return {
    events,
    async stop() {
      await reader.cancel().catch(() => {});
      await reading;
    },
  };
}

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function dropSchema(schema: string): Promise<void> {
  const db = createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 1 });
  await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await db.close();
}

/** Transactions PgBouncer has passed on for the test database. */
async function bouncerTransactions(bouncer: PgBouncer): Promise<number> {
  const database = new URL(PG_URL!).pathname.slice(1);
  const rows = await bouncer.admin('SHOW STATS');
  return Number(rows.find((r) => r.database === database)?.total_xact_count ?? 0);
}

/** Settings PgBouncer itself sets on a server connection for each client (its tracked parameters). */
const POOLER_SETTINGS = [
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'standard_conforming_strings',
];

/**
 * What a session remembers, read on each of PgBouncer's server connections: one transaction per
 * connection held open at once, so that each probe lands on a different one.
 */
async function sessionStateOfServerConnections(bouncer: PgBouncer, connections = 2) {
  const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: bouncer.url }));
  try {
    for (const client of clients) {
      await client.connect();
      await client.query('BEGIN');
    }
    const states = [];
    const pids = new Set<number>();
    for (const client of clients) {
      const { rows } = await client.query(
        `SELECT pg_backend_pid() AS pid,
           (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
           (SELECT coalesce(array_agg(c), '{}') FROM pg_listening_channels() c) AS listening,
           (SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM pg_settings
              WHERE source = 'session' AND lower(name) <> ALL ($1)) AS settings,
           (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS "advisoryLocks",
           (SELECT count(*)::int FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS "tempTables"`,
        [POOLER_SETTINGS],
      );
      const { pid, ...state } = rows[0];
      pids.add(pid);
      states.push(state);
    }
    expect(pids.size).toBe(connections);
    return states;
  } finally {
    for (const client of clients) await client.end().catch(() => {});
  }
}

describeBouncer('behind PgBouncer in transaction mode, with database.listenUrl', { timeout: 120_000 }, () => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer(PG_URL!, { poolMode: 'transaction', poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  test('workers, the HTTP API (REST, GraphQL) and live updates work, woken only by NOTIFY', async () => {
    const schema = uniqueSchema('bouncer');
    let tasker: Tasker | null = null;
    const closers: Array<() => Promise<void>> = [];
    try {
      const before = await bouncerTransactions(bouncer);
      tasker = await createTasker({
        database: { url: bouncer.url, listenUrl: PG_URL, schema, maxConnections: 6 },
        // No fallback poll: a worker that missed a notification would never start the work.
        execution: { pollIntervalMs: 600_000, concurrency: 8, shutdownTimeoutMs: 2000 },
        backoff: { scheduleMs: [50], maxMs: 1000, jitterRatio: 0 },
        telemetry: { log: { level: 'error' } },
      });
      const t = tasker;
      closers.push(() => t.close());
      const attempts = new Map<string, number>();
      let abortedBy: string | null = null;
      t.register(
        defineTask({
          namespace: 'pool',
          name: 'diamond',
          contextSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
          steps: [
            { name: 'start', handler: ({ context }) => ({ n: (context as { n: number }).n }) },
            {
              name: 'left',
              dependsOn: ['start'],
              handler: ({ parents, task }) => {
                const key = `${task.id}`;
                attempts.set(key, (attempts.get(key) ?? 0) + 1);
                // One retry per task: the retry's wake-up comes from the database too.
                if (attempts.get(key) === 1) throw new RetryableError('first attempt fails');
                return { n: (parents.start as { n: number }).n + 1 };
              },
            },
            { name: 'right', dependsOn: ['start'], handler: ({ parents }) => parents.start },
            {
              name: 'join',
              dependsOn: ['left', 'right'],
              handler: ({ parents }) => ({
                sum: (parents.left as { n: number }).n + (parents.right as { n: number }).n,
              }),
            },
          ],
        }),
      );
      t.register(
        defineTask({
          namespace: 'pool',
          name: 'waits',
          steps: [
            {
              name: 'until_cancelled',
              handler: ({ signal }) =>
                new Promise((_, reject) =>
                  signal.addEventListener('abort', () => {
                    abortedBy = String((signal.reason as Error)?.message ?? signal.reason);
                    reject(signal.reason);
                  }),
                ),
            },
          ],
        }),
      );
      await t.startWorker();
      const server = await startServer({ tasker: t, port: 0 });
      closers.push(() => server.close());
      const stream = await fetch(`${server.url}/events`);
      expect(stream.status).toBe(200);
      const live = collectEvents(stream);
      closers.push(() => live.stop());

      // REST over real HTTP: tasks created while the worker sleeps, woken by their notification.
      const ids: number[] = [];
      for (const n of [1, 2, 3]) {
        const response = await fetch(`${server.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ namespace: 'pool', name: 'diamond', context: { n } }),
        });
        expect(response.status).toBe(201);
        ids.push(((await response.json()) as { id: number }).id);
      }
      // GraphQL: the same engine behind the same pooler.
      const gql = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query:
            'mutation { createTask(input: { namespace: "pool", name: "diamond", context: { n: 10 } }) { id } }',
        }),
      });
      const gqlBody = (await gql.json()) as { data?: { createTask: { id: number } }; errors?: unknown };
      expect(gqlBody.errors).toBeUndefined();
      ids.push(Number(gqlBody.data!.createTask.id));

      for (const [i, id] of ids.entries()) {
        const done = await t.waitForTask(id, { timeoutMs: 30_000 });
        expect(done.state).toBe('complete');
        const n = [1, 2, 3, 10][i]!;
        expect(done.steps.find((s) => s.name === 'join')?.results).toEqual({ sum: 2 * n + 1 });
        expect(done.steps.find((s) => s.name === 'left')?.attempts).toBe(2);
      }
      // Live updates reached the stream: every task's completion, and step changes.
      await eventually('the completions on the event stream', () =>
        ids.every((id) =>
          live.events.some((e) => e.event === 'task' && e.data.id === id && e.data.state === 'complete'),
        )
          ? true
          : undefined,
      );
      expect(live.events.some((e) => e.event === 'step' && e.data.state === 'waiting_for_retry')).toBe(true);

      // Cancelling over HTTP aborts a running handler: the worker hears of it by NOTIFY.
      const waiting = await fetch(`${server.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: 'pool', name: 'waits' }),
      });
      const waitingId = ((await waiting.json()) as { id: number }).id;
      await eventually('the step to run', () =>
        live.events.some(
          (e) => e.event === 'step' && e.data.taskId === waitingId && e.data.state === 'in_progress',
        )
          ? true
          : undefined,
      );
      const cancelled = await fetch(`${server.url}/tasks/${waitingId}/cancel`, { method: 'POST' });
      expect(cancelled.status).toBe(200);
      await eventually('the handler to see its signal aborted', () => abortedBy ?? undefined);
      expect((await t.waitForTask(waitingId, { timeoutMs: 10_000 })).state).toBe('cancelled');

      // And all of it did go through PgBouncer.
      expect(await bouncerTransactions(bouncer)).toBeGreaterThan(before + 20);

      // Nothing it did left session state behind on PgBouncer's server connections (which other
      // clients would inherit, and which the engine cannot count on finding again).
      for (const close of closers.splice(0).reverse()) await close();
      expect(await sessionStateOfServerConnections(bouncer)).toEqual([
        { prepared: 0, listening: [], settings: [], advisoryLocks: 0, tempTables: 0 },
        { prepared: 0, listening: [], settings: [], advisoryLocks: 0, tempTables: 0 },
      ]);
    } catch (error) {
      throw new Error(`${String(error)}\npgbouncer:\n${bouncer.log()}`, { cause: error });
    } finally {
      for (const close of closers.reverse()) await close().catch(() => {});
      await dropSchema(schema);
    }
  });

  test.runIf(existsSync(CLI))(
    'tasker worker takes the listening URL from TASKER_DATABASE_LISTEN_URL',
    async () => {
      const schema = uniqueSchema('bouncer-cli');
      const dir = tempProject({
        'templates/double.yaml': [
          'name: double',
          'namespace_name: pool',
          'step_templates:',
          '  - name: first',
          '    handler: twice',
          '  - name: second',
          '    depends_on_step: first',
          '    handler: twice',
          '',
        ].join('\n'),
        'handlers/twice.ts':
          'export function twice({ context, parents }: any) { return { n: (parents.first?.n ?? context.n) * 2 }; }\n',
        'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      });
      const worker = spawnCli(['worker'], dir, {
        DATABASE_URL: bouncer.url,
        TASKER_DATABASE_LISTEN_URL: PG_URL!,
        TASKER_DATABASE_SCHEMA: schema,
        TASKER_POLL_INTERVAL_MS: '600000',
        TASKER_LOG_LEVEL: 'warn',
      });
      let tasker: Tasker | null = null;
      try {
        await worker.waitFor('started (concurrency');
        tasker = await createTasker({
          database: { url: bouncer.url, schema, maxConnections: 2 },
          telemetry: { log: { level: 'error' } },
        });
        tasker.register(
          defineTask({
            namespace: 'pool',
            name: 'double',
            steps: [
              { name: 'first', handler: 'twice' },
              { name: 'second', dependsOn: ['first'], handler: 'twice' },
            ],
          }),
        );
        const { id } = await tasker.createTask({ namespace: 'pool', name: 'double', context: { n: 5 } });
        const done = await tasker.waitForTask(id, { timeoutMs: 30_000 });
        expect(done.state).toBe('complete');
        expect(done.steps.find((s) => s.name === 'second')?.results).toEqual({ n: 20 });
      } finally {
        await tasker?.close();
        worker.child.kill('SIGTERM');
        const result = await worker.result;
        expect(result.code, result.stderr).toBe(0);
        await dropSchema(schema);
      }
    },
  );
});

describeBouncer('behind PgBouncer in statement mode', { timeout: 60_000 }, () => {
  test("start-up fails with the pooler's reason (and the process survives the dropped connection)", async () => {
    const bouncer = await startPgBouncer(PG_URL!, { poolMode: 'statement' });
    const schema = uniqueSchema('bouncer-stmt');
    try {
      await expect(
        createTasker({
          database: { url: bouncer.url, listenUrl: PG_URL, schema, maxConnections: 2 },
          telemetry: { log: { level: 'silent' } },
        }),
      ).rejects.toThrow('transaction blocks not allowed in statement pooling mode');
    } finally {
      await bouncer.stop();
      await dropSchema(schema);
    }
  });
});
