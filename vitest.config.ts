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
  },
});
