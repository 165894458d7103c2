/**
 * One worker process of the scale-out section (`node dist/bench/scale-worker.js <url> <schema> <shape>
 * <concurrency> <pool> <prefetch>`): opens the run's schema (already migrated by the harness), registers the bench
 * template, says `ready`, starts its worker on a `go` line, and stops gracefully when stdin closes.
 */
import { createInterface } from 'node:readline';
import { createPostgresDatabase } from '../db/postgres-database.js';
import { createTasker } from '../tasker.js';
import type { Worker } from '../worker/worker.js';
import { benchTemplate } from './workloads/templates.js';
import { SHAPES, type Shape, Tracker } from './workloads/tracker.js';

async function main(argv: readonly string[]): Promise<void> {
  const [url, schema, shape, concurrency, pool, prefetch] = argv;
  if (
    !url ||
    !schema ||
    !SHAPES.includes(shape as Shape) ||
    !(Number(concurrency) > 0) ||
    !(Number(pool) > 0) ||
    !(Number(prefetch) >= 0)
  ) {
    throw new Error(
      'usage: scale-worker.js <url> <schema> <single|chain3|diamond> <concurrency> <pool> <prefetch>',
    );
  }
  const database = createPostgresDatabase({
    connectionString: url,
    maxConnections: Number(pool),
    // The harness samples this run's backends in pg_stat_activity by this name.
    applicationName: `tasker-scale ${schema}`.slice(0, 63),
  });
  const tasker = await createTasker(
    { database: { schema, migrate: false }, telemetry: { log: { level: 'warn' } } },
    { database },
  );
  tasker.register(benchTemplate(shape as Shape, new Tracker(shape as Shape)));
  let worker: Promise<Worker> | null = null;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'go' && !worker) {
      worker = tasker.startWorker({ concurrency: Number(concurrency), prefetch: Number(prefetch) });
    }
  });
  lines.on('close', async () => {
    await (await worker)?.stop();
    await tasker.close();
    await database.close();
  });
  process.stdout.write('ready\n');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
