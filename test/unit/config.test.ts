import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/config/options.js';
import type { TaskerError } from '../../src/errors.js';

describe('engine options', () => {
  test('defaults run on embedded PGlite in ./.tasker', () => {
    const c = resolveConfig({}, {});
    expect(c.database).toMatchObject({ url: null, dataDir: './.tasker', schema: 'tasker', migrate: true });
    expect(c.execution).toMatchObject({ concurrency: 10, leaseMs: 30000, heartbeatIntervalMs: 10000 });
    expect(c.identity.strategy).toBe('always_unique');
  });

  test('DATABASE_URL and TASKER_DATA_DIR are honoured', () => {
    expect(resolveConfig({}, { DATABASE_URL: 'postgres://x/y' }).database.url).toBe('postgres://x/y');
    expect(resolveConfig({}, { TASKER_DATA_DIR: '/tmp/t' }).database.dataDir).toBe('/tmp/t');
    expect(
      resolveConfig({ database: { inMemory: true } }, { DATABASE_URL: 'postgres://x/y' }).database,
    ).toMatchObject({
      url: null,
      dataDir: null,
    });
  });

  test('lists every problem at once', () => {
    try {
      resolveConfig(
        { execution: { concurrency: 0, leaseMs: 'long' }, database: { colour: 'red' } } as never,
        {},
      );
      throw new Error('expected failure');
    } catch (error) {
      const e = error as TaskerError;
      expect(e.code).toBe('TASKER_INVALID_CONFIG');
      expect(e.details!.map((p) => p.path)).toEqual(
        expect.arrayContaining(['execution.concurrency', 'execution.leaseMs', 'database']),
      );
    }
  });

  test('a heartbeat slower than half the lease is refused', () => {
    expect(() => resolveConfig({ execution: { leaseMs: 10_000, heartbeatIntervalMs: 6000 } }, {})).toThrow(
      /heartbeatIntervalMs/,
    );
  });
});
