import { describe, expect, it } from 'vitest';
import {
  analyzeSteps,
  criticalPath,
  DEFAULT_BOTTLENECK_WEIGHTS,
  dependencyLevels,
  findBottlenecks,
  type GraphStep,
  severityOf,
} from '../../src/index.js';

/** A graph from "child: parents" edges; durations and states per step name. */
function graph(edges: Record<string, string[]>, extra: Record<string, Partial<GraphStep>> = {}): GraphStep[] {
  const names = Object.keys(edges);
  const id = (n: string) => names.indexOf(n) + 1;
  return names.map((name) => ({
    id: id(name),
    name,
    state: 'complete',
    parentIds: edges[name]!.map(id),
    childIds: names.filter((c) => edges[c]!.includes(name)).map(id),
    attempts: 1,
    retryLimit: 3,
    blocked: false,
    durationMs: 100,
    ...extra[name],
  }));
}

// a -> b -> d, a -> c -> d (diamond), d -> e
const diamond = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'] };

describe('dependency levels', () => {
  it('are the longest chain above each step', () => {
    const steps = graph({ a: [], b: ['a'], c: ['a', 'b'], x: [] });
    const levels = dependencyLevels(steps);
    expect([...levels.entries()].sort()).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 0],
    ]);
  });

  it('reject a cycle and an unknown parent', () => {
    const cyclic = graph({ a: ['b'], b: ['a'] });
    expect(() => dependencyLevels(cyclic)).toThrow(/cycle/);
    expect(() => dependencyLevels([{ ...graph({ a: [] })[0]!, parentIds: [99] }])).toThrow(
      /not part of the task/,
    );
  });
});

describe('critical path', () => {
  it('follows the longest recorded durations', () => {
    const steps = graph(diamond, { b: { durationMs: 50 }, c: { durationMs: 500 } });
    const path = criticalPath(steps);
    expect(path.stepIds.map((i) => steps[i - 1]!.name)).toEqual(['a', 'c', 'd', 'e']);
    expect(path.durationMs).toBe(100 + 500 + 100 + 100);
    expect(path.estimated.size).toBe(0);
  });

  it('estimates steps that have not run: by name, else the mean of recorded durations', () => {
    const steps = graph(diamond, {
      a: { durationMs: 200 },
      b: { durationMs: 400 },
      c: { durationMs: null, state: 'pending' },
      d: { durationMs: null, state: 'pending' },
      e: { durationMs: null, state: 'pending' },
    });
    const byMean = criticalPath(steps);
    expect(byMean.durations.get(3)).toBe(300); // mean of 200 and 400
    expect(byMean.stepIds).toEqual([1, 2, 4, 5]); // b (400) beats c (300)
    const byName = criticalPath(steps, { estimatesMs: { c: 1000 } });
    expect(byName.stepIds).toEqual([1, 3, 4, 5]);
    expect(byName.durationMs).toBe(200 + 1000 + 300 + 300);
    expect([...byName.estimated].sort()).toEqual([3, 4, 5]);
  });
});

describe('bottlenecks', () => {
  it('score a failed step with waiting descendants highest, with the reference weights', () => {
    const steps = graph(diamond, {
      b: { durationMs: 10 }, // c's estimate (the mean, 55 ms) is longer: c is on the critical path
      c: { state: 'error', attempts: 3, durationMs: null },
      d: { state: 'pending', blocked: true, durationMs: null },
      e: { state: 'pending', blocked: true, durationMs: null },
    });
    const path = criticalPath(steps);
    const [top] = findBottlenecks(steps, path);
    expect(top!.name).toBe('c');
    // downstream d, e (2 × 5) + unfinished (2 × 15) + on the 4-step critical path (4 × 10)
    // + error 30 + 2 retries × 10
    expect(path.stepIds).toEqual([1, 3, 4, 5]);
    expect(top!.onCriticalPath).toBe(true);
    expect(top!.impactScore).toBe(10 + 30 + 40 + 30 + 20);
    expect(top!.severity).toBe('critical');
    expect(top!.retries).toBe(2);
  });

  it('give completed steps the completed penalty, never below 0, and honour custom weights', () => {
    const steps = graph({ a: [], b: ['a'] });
    const path = criticalPath(steps);
    const leaf = findBottlenecks(steps, path).find((b) => b.name === 'b')!;
    // on the 2-step path: 2 × 10 − 15
    expect(leaf.impactScore).toBe(5);
    const zero = findBottlenecks(steps, path, { ...DEFAULT_BOTTLENECK_WEIGHTS, pathLengthWeight: 0 });
    expect(zero.find((b) => b.name === 'b')!.impactScore).toBe(0);
  });

  it('severity follows the thresholds', () => {
    const w = DEFAULT_BOTTLENECK_WEIGHTS;
    expect([100, 99.9, 50, 20, 19.99].map((s) => severityOf(s, w))).toEqual([
      'critical',
      'high',
      'high',
      'medium',
      'low',
    ]);
  });
});

describe('analyzeSteps', () => {
  it('reports levels in order, the critical path by name and the parallelism potential', () => {
    const steps = graph(diamond, { b: { durationMs: 300 } });
    const analysis = analyzeSteps(7, steps);
    expect(analysis.taskId).toBe(7);
    expect(analysis.levels.map((l) => `${l.name}:${l.level}`)).toEqual(['a:0', 'b:1', 'c:1', 'd:2', 'e:3']);
    expect(analysis.criticalPath.steps).toEqual(['a', 'b', 'd', 'e']);
    expect(analysis.criticalPath.durationMs).toBe(600);
    expect(analysis.parallelism.widths).toEqual([1, 2, 1, 1]);
    expect(analysis.parallelism.maxWidth).toBe(2);
    // 700 ms of work over a 600 ms critical path
    expect(analysis.parallelism.speedup).toBe(1.17);
    expect(analysis.bottlenecks.length).toBeLessThanOrEqual(5);
  });

  it('handles an empty task', () => {
    const analysis = analyzeSteps(1, []);
    expect(analysis.criticalPath.steps).toEqual([]);
    expect(analysis.parallelism.depth).toBe(0);
  });
});
