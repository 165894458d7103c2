import { defineConfig } from 'vitest/config';

// A workflow test starts an in-memory database and a worker, then runs a whole task: seconds, not the
// 5 s vitest allows a unit test by default.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 60_000 },
});
