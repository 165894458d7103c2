import { describe, expect, test } from 'vitest';
import { baseBackoffMs, DEFAULT_BACKOFF, retryDelayMs } from '../../src/engine/backoff.js';

describe('backoff schedule', () => {
  test('follows the original schedule without jitter', () => {
    // Reference section 11: attempt 1 -> 1 s, 3 -> 4 s, 6 -> 32 s, 7 -> 49 s, 100 -> 300 s (cap).
    expect(baseBackoffMs(1)).toBe(1000);
    expect(baseBackoffMs(2)).toBe(2000);
    expect(baseBackoffMs(3)).toBe(4000);
    expect(baseBackoffMs(6)).toBe(32000);
    expect(baseBackoffMs(7)).toBe(49000);
    expect(baseBackoffMs(17)).toBe(289000);
    expect(baseBackoffMs(18)).toBe(300000);
    expect(baseBackoffMs(100)).toBe(300000);
  });

  test('jitter only lengthens the delay, by at most the ratio', () => {
    expect(retryDelayMs(3, { random: () => 0 })).toBe(4000);
    expect(retryDelayMs(3, { random: () => 0.999999 })).toBe(4400);
    expect(retryDelayMs(100, { random: () => 0.999999 })).toBe(300000);
  });

  test('a retry-after replaces the schedule and is capped', () => {
    expect(retryDelayMs(1, { retryAfterMs: 12_345 })).toBe(12_345);
    expect(retryDelayMs(1, { retryAfterMs: 10_000_000 })).toBe(DEFAULT_BACKOFF.maxMs);
    expect(retryDelayMs(5, { retryAfterMs: 0 })).toBe(0);
  });

  test('a custom policy is honoured', () => {
    const policy = { scheduleMs: [10, 20], exponent: 3, maxMs: 5000, jitterRatio: 0 };
    expect(retryDelayMs(1, { policy })).toBe(10);
    expect(retryDelayMs(2, { policy })).toBe(20);
    expect(retryDelayMs(3, { policy })).toBe(5000); // 27 s capped at 5 s
  });

  test('rejects an attempt number below 1', () => {
    expect(() => baseBackoffMs(0)).toThrow(RangeError);
  });
});
