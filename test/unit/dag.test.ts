import { describe, expect, test } from 'vitest';
import { dependencyLevels, findCycle, topologicalOrder } from '../../src/definitions/dag.js';

describe('DAG helpers', () => {
  const diamond = [[], [0], [0], [1, 2]];

  test('orders parents before children', () => {
    expect(topologicalOrder(diamond)).toEqual([0, 1, 2, 3]);
    expect(topologicalOrder([[1], [], [0]])).toEqual([1, 0, 2]);
  });

  test('levels are the longest path from a root', () => {
    expect(dependencyLevels(diamond)).toEqual([0, 1, 1, 2]);
    // 0 -> 1 -> 2 -> 3 and 0 -> 3: 3 sits at level 3, not 1
    expect(dependencyLevels([[], [0], [1], [2, 0]])).toEqual([0, 1, 2, 3]);
  });

  test('finds a cycle and names it in dependency order', () => {
    // 0 depends on 2, 1 on 0, 2 on 1: 0 -> 1 -> 2 -> 0
    const cycle = findCycle([[2], [0], [1]]);
    expect(cycle).not.toBeNull();
    expect(cycle!.length).toBe(4);
    expect(cycle![0]).toBe(cycle![3]);
    expect(new Set(cycle)).toEqual(new Set([0, 1, 2]));
    expect(findCycle(diamond)).toBeNull();
  });

  test('topological order refuses a cycle', () => {
    expect(() => topologicalOrder([[1], [0]])).toThrow(/cycle/);
  });
});
