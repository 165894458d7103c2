/**
 * A worker with prefetch draining a queue deeper than its room sends a burst of outcomes in two round
 * trips side by side (src/worker/dispatch-loop.ts, DEEP_AFTER_FULL_CLAIMS): quick handlers end together, so
 * one round trip at a time would leave the process idle while PostgreSQL works and the other way round.
 * Every step still runs exactly once and every task finishes. PostgreSQL only: PGlite has one connection.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { Database, Queryable } from '../../src/db/database.js';
import { quoteIdent } from '../../src/db/database.js';
import { createPostgresDatabase } from '../../src/db/postgres-database.js';
import { createTasker, defineTask } from '../../src/index.js';
import { PG_URL, uniqueSchema } from '../helpers.js';

/** Wraps a database: counts the finish_steps calls out at once, and the most ever out together. */
function watchFinishSteps(inner: Database) {
  const seen = { out: 0, peak: 0, calls: 0 };
  const query: Queryable['query'] = async (text, params) => {
    if (!text.includes('finish_steps(')) return inner.query(text, params);
    seen.calls++;
    seen.out++;
    seen.peak = Math.max(seen.peak, seen.out);
    try {
      return await inner.query(text, params);
    } finally {
      seen.out--;
    }
  };
  const db: Database = {
    kind: inner.kind,
    maxConnections: inner.maxConnections,
    query,
    exec: (sql) => inner.exec(sql),
    transaction: (fn) => inner.transaction(fn),
    listen: (channels, onNotification, onReconnect) => inner.listen(channels, onNotification, onReconnect),
    poolStats: () => inner.poolStats(),
    close: () => inner.close(),
  };
  return { db, seen };
}

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function drain(prefetch: number, tasks: number) {
  const schema = uniqueSchema();
  const { db, seen } = watchFinishSteps(
    createPostgresDatabase({ connectionString: PG_URL!, maxConnections: 4 }),
  );
  const tasker = await createTasker(
    { database: { schema, maxConnections: 4 }, execution: { pollIntervalMs: 200 } },
    { database: db },
  );
  closers.push(async () => {
    await tasker.close();
    await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await db.close();
  });
  const runs = new Map<number, number>();
  tasker.register(
    defineTask({
      name: 'quick',
      steps: [
        {
          name: 'only',
          handler: ({ task }) => {
            runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
            return { ok: true };
          },
        },
      ],
    }),
  );
  const created = await tasker.createTasks(
    Array.from({ length: tasks }, (_, i) => ({ name: 'quick', context: { i } })),
  );
  const before = seen.calls;
  const worker = await tasker.startWorker({ concurrency: 10, prefetch });
  for (const task of created) {
    expect((await tasker.waitForTask(task.id, { timeoutMs: 60_000 })).state).toBe('complete');
  }
  await worker.stop();
  return { created, runs, peak: seen.peak, calls: seen.calls - before };
}

describe.skipIf(!PG_URL)('round trips side by side on postgres', () => {
  test('a worker with prefetch draining a deep queue has two finish_steps out at once; each step runs once', async () => {
    const { created, runs, peak, calls } = await drain(10, 400);
    expect(peak).toBe(2);
    expect(runs.size).toBe(400);
    for (const task of created) expect(runs.get(task.id)).toBe(1);
    // Two halves of 10 per round trip: more than the 20 round trips of 20 it would take one at a time.
    expect(calls).toBeGreaterThan(20);
  });

  test('without prefetch the same drain sends one round trip at a time', async () => {
    const { runs, peak } = await drain(0, 200);
    expect(runs.size).toBe(200);
    expect(peak).toBe(1);
  });
});
