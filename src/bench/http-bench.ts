/**
 * HTTP bench: requests per second and p50/p99 latency of create-task and get-task against a real
 * listening API server (autocannon), on PostgreSQL (a throwaway schema, dropped after) or an in-memory
 * PGlite. No worker runs: this measures the API and the database writes/reads it makes.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { startServer } from '../api/server.js';
import { quoteIdent } from '../db/database.js';
import { createPgliteDatabase } from '../db/pglite-database.js';
import { defineTask } from '../definitions/define-task.js';
import { createTasker, type Tasker } from '../tasker.js';

export interface HttpBenchOptions {
  /** PostgreSQL URL; an in-memory PGlite when absent. */
  readonly databaseUrl?: string;
  readonly durationSeconds: number;
  readonly connections: number;
}

export interface HttpBenchResult {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function runHttpBench(options: HttpBenchOptions): Promise<HttpBenchResult[]> {
  if (!(options.durationSeconds > 0) || !Number.isInteger(options.connections) || options.connections < 1) {
    throw new TypeError('runHttpBench: durationSeconds must be > 0 and connections a positive integer');
  }
  const schema = `bench_http_${randomBytes(4).toString('hex')}`;
  const pglite = options.databaseUrl ? null : await createPgliteDatabase();
  const tasker: Tasker = await createTasker(
    {
      database: options.databaseUrl
        ? { url: options.databaseUrl, schema, maxConnections: Math.max(4, options.connections) }
        : { schema },
    },
    pglite ? { database: pglite } : {},
  );
  try {
    tasker.register(
      defineTask({
        namespace: 'bench',
        name: 'http',
        steps: [
          { name: 'a', handler: async () => ({}) },
          { name: 'b', dependsOn: ['a'], handler: async () => ({}) },
        ],
      }),
    );
    const server = await startServer({ tasker, port: 0 });
    try {
      const body = JSON.stringify({ namespace: 'bench', name: 'http', context: { n: 1 } });
      const { id } = await tasker.createTask({ namespace: 'bench', name: 'http' });
      const cases: Array<[string, autocannon.Options]> = [
        [
          'http create-task',
          {
            url: `${server.url}/tasks`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            connections: options.connections,
            duration: options.durationSeconds,
          },
        ],
        [
          'http get-task',
          {
            url: `${server.url}/tasks/${id}`,
            connections: options.connections,
            duration: options.durationSeconds,
          },
        ],
      ];
      const results: HttpBenchResult[] = [];
      for (const [name, cannon] of cases) {
        const r = await run(cannon);
        if (r.errors > 0 || r.non2xx > 0) {
          throw new Error(`${name}: ${r.errors} connection errors and ${r.non2xx} non-2xx responses`);
        }
        results.push({
          name,
          requestsPerSecond: r.requests.average,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
        });
      }
      return results;
    } finally {
      await server.close();
    }
  } finally {
    await tasker.close();
    if (options.databaseUrl) {
      const { createPostgresDatabase } = await import('../db/postgres-database.js');
      const db = createPostgresDatabase({ connectionString: options.databaseUrl, maxConnections: 1 });
      await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).finally(() => db.close());
    }
    if (pglite) await pglite.close();
  }
}
