import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: more parallel files than that only adds contention with PostgreSQL.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // A test that leaves a worker or a connection open keeps its process alive: fail loudly instead.
    teardownTimeout: 10_000,
    // expect.poll's default of one second is too short on a slow, shared machine (a dashboard test once
    // failed on it in CI); a condition that does hold is still seen within 50 ms.
    expect: { poll: { timeout: 15_000 } },
  },
});
