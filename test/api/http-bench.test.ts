import { expect, test } from 'vitest';
import { runHttpBench } from '../../src/bench/http-bench.js';
import { PG_URL } from '../helpers.js';

// Checks that the bench runs and reports both cases; the figures themselves belong to `npm run bench`.
test('the HTTP bench runs create-task and get-task against a listening server', async () => {
  const results = await runHttpBench({ databaseUrl: PG_URL, durationSeconds: 1, connections: 2 });
  expect(results.map((r) => r.name)).toEqual(['http create-task', 'http get-task']);
  for (const r of results) {
    expect(r.requestsPerSecond).toBeGreaterThan(0);
    expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
  }
}, 180_000);
