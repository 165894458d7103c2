import { describe, expect, it } from 'vitest';
import { criticalPathOf, longestPath } from '../../web/src/lib/critical-path.js';

// a -> b -> d, a -> c -> d : the path through the slower middle step is critical.
const diamond = [
  { id: 1, name: 'a', parentIds: [] },
  { id: 2, name: 'b', parentIds: [1] },
  { id: 3, name: 'c', parentIds: [1] },
  { id: 4, name: 'd', parentIds: [2, 3] },
];

describe('critical path', () => {
  it('follows the slowest chain by recorded durations', () => {
    const durations = new Map([
      [1, 100],
      [2, 50],
      [3, 700],
      [4, 10],
    ]);
    expect(longestPath(diamond.map((s) => ({ ...s, durationMs: durations.get(s.id)! })))).toEqual({
      stepIds: [1, 3, 4],
      durationMs: 810,
    });
    durations.set(2, 900);
    const path = criticalPathOf(diamond, durations);
    expect(path).toEqual({ stepIds: [1, 2, 4], durationMs: 1010, source: 'client' });
  });

  it('prefers the server analysis, by ids or by names', () => {
    expect(criticalPathOf(diamond, new Map(), { stepIds: [1, 3, 4], durationMs: 5 })).toEqual({
      stepIds: [1, 3, 4],
      durationMs: 5,
      source: 'server',
    });
    expect(criticalPathOf(diamond, new Map(), { steps: ['a', 'b', 'd'] }).stepIds).toEqual([1, 2, 4]);
  });

  it('leaves steps that never ran (no recorded time) off the path', () => {
    // a ran, then b failed; c and d never ran.
    const path = criticalPathOf(
      diamond,
      new Map([
        [1, 100],
        [2, 300],
      ]),
    );
    expect(path).toEqual({ stepIds: [1, 2], durationMs: 400, source: 'client' });
  });

  it('falls back to the client when the server sends nothing usable, and ignores a cycle', () => {
    expect(criticalPathOf(diamond, new Map([[3, 5]]), { stepIds: [] }).source).toBe('client');
    const cyclic = [
      { id: 1, parentIds: [], durationMs: 1 },
      { id: 2, parentIds: [3], durationMs: 100 },
      { id: 3, parentIds: [2], durationMs: 100 },
    ];
    expect(longestPath(cyclic)).toEqual({ stepIds: [1], durationMs: 1 });
  });
});
