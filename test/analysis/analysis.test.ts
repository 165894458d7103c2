import { describe, expect, it } from 'vitest';
import {
  analyzeSteps,
  analyzeTask,
  criticalPath,
  DEFAULT_BOTTLENECK_WEIGHTS,
  dependencyLevels,
  findBottlenecks,
  type GraphStep,
  severityOf,
  type TaskWithSteps,
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

/** Steps of a task on its clock: each step's [start of last attempt, end] in ms after the task started. */
function timed(
  edges: Record<string, string[]>,
  times: Record<string, { ran?: [number, number]; running?: number; state?: string; blocked?: boolean }>,
): GraphStep[] {
  const T0 = 1_000_000;
  return graph(edges).map((step) => {
    const t = times[step.name] ?? {};
    const state = t.state ?? (t.running !== undefined ? 'in_progress' : t.ran ? 'complete' : 'pending');
    return {
      ...step,
      state,
      blocked: t.blocked ?? false,
      durationMs: t.ran ? t.ran[1] - t.ran[0] : null,
      lastAttemptedAtMs: t.ran ? T0 + t.ran[0] : t.running !== undefined ? T0 + t.running : null,
      completedAtMs: t.ran ? T0 + t.ran[1] : null,
    };
  });
}
const clock = (nowAfterStart: number, active: boolean) => ({
  startedAtMs: 1_000_000,
  nowMs: 1_000_000 + nowAfterStart,
  active,
});

describe('critical path on the task clock', () => {
  it('of a finished linear chain is all its steps, and as long as the task (waits and retries included)', () => {
    // b waited 40 ms for a worker; c's last attempt is short, but it failed once and backed off before.
    const steps = timed(
      { a: [], b: ['a'], c: ['b'] },
      { a: { ran: [0, 100] }, b: { ran: [140, 200] }, c: { ran: [900, 950] } },
    );
    const path = criticalPath(steps, { timing: clock(950, false) });
    expect(path.stepIds).toEqual([1, 2, 3]);
    expect(path.durationMs).toBe(950);
    expect([...path.durations.entries()]).toEqual([
      [1, 100],
      [2, 100],
      [3, 750],
    ]);
    expect(path.estimated.size).toBe(0);
  });

  it('of a diamond runs through the branch that finished last, not the longest last attempt', () => {
    // b's one attempt took 300 ms; c retried after a backoff and finished later.
    const steps = timed(diamond, {
      a: { ran: [0, 100] },
      b: { ran: [100, 400] },
      c: { ran: [550, 600] },
      d: { ran: [600, 650] },
      e: { ran: [650, 700] },
    });
    const path = criticalPath(steps, { timing: clock(700, false) });
    expect(path.stepIds.map((i) => steps[i - 1]!.name)).toEqual(['a', 'c', 'd', 'e']);
    expect(path.durationMs).toBe(700);
  });

  it('of a failed task ends at the failed step: steps that never ran are on no path', () => {
    const steps = timed(diamond, {
      a: { ran: [0, 100] },
      b: { ran: [100, 150] },
      c: { ran: [100, 300], state: 'error' },
      d: { blocked: true },
      e: { blocked: true },
    });
    const path = criticalPath(steps, { timing: clock(300, false) });
    expect(path.stepIds).toEqual([1, 3]);
    expect(path.durationMs).toBe(300);
    expect(path.durations.has(4)).toBe(false);
    expect(path.durations.has(5)).toBe(false);
  });

  it('of a cancelled task leaves out the steps that never ran', () => {
    const steps = timed(
      { a: [], b: ['a'], c: ['b'] },
      { a: { ran: [0, 100] }, b: { ran: [100, 180], state: 'cancelled' }, c: { state: 'cancelled' } },
    );
    const path = criticalPath(steps, { timing: clock(180, false) });
    expect(path.stepIds).toEqual([1, 2]);
  });

  it('of a running task counts the running step until now and estimates the steps still to run', () => {
    const steps = timed({ a: [], b: ['a'], c: ['b'] }, { a: { ran: [0, 200] }, b: { running: 250 } });
    const path = criticalPath(steps, { timing: clock(5000, true) });
    expect(path.stepIds).toEqual([1, 2, 3]);
    // a 200, b from 200 until now (4800), c the mean of the recorded attempts (200)
    expect(path.durationMs).toBe(5200);
    expect([...path.estimated].sort()).toEqual([2, 3]);
  });

  it('analyzeTask reads the clock from the task: a finished task freezes it at its end', () => {
    const at = (ms: number) => new Date(1_000_000 + ms);
    const step = (id: number, name: string, parentIds: number[], from: number, to: number) => ({
      id,
      taskId: 1,
      name,
      position: id - 1,
      state: 'complete' as const,
      attempts: 1,
      totalAttempts: 1,
      retryLimit: 3,
      retryable: true,
      timeoutMs: null,
      skippable: false,
      blocked: false,
      parentIds,
      childIds: [],
      inputs: null,
      results: null,
      lastError: null,
      runAt: null,
      backoffRequestSeconds: null,
      lastAttemptedAt: at(from),
      completedAt: at(to),
      workerId: null,
      workerName: null,
      waitingForKey: null,
      throttledAt: null,
      batchParentId: null,
      batchIndex: null,
      compensation: null,
      waiting: null,
      displayState: 'complete' as const,
      stateLabel: 'complete',
      createdAt: at(0),
      updatedAt: at(to),
    });
    const analysis = analyzeTask(
      {
        ...({} as Omit<TaskWithSteps, 'steps' | 'state' | 'startedAt' | 'completedAt'>),
        id: 1,
        state: 'complete',
        startedAt: at(0),
        completedAt: at(500),
        steps: [step(1, 'first', [], 0, 100), step(2, 'second', [1], 300, 500)],
      },
      { nowMs: 1_000_000 + 99_999 },
    );
    expect(analysis.criticalPath).toEqual({
      steps: ['first', 'second'],
      stepIds: [1, 2],
      durationMs: 500,
      estimated: [],
    });
  });
});

describe('bottlenecks', () => {
  it('score a failed step with waiting descendants highest, with the reference weights', () => {
    const steps = graph(diamond, {
      b: { durationMs: 10 },
      c: { state: 'error', attempts: 3, durationMs: 80, lastAttemptedAtMs: 1 },
      d: { state: 'pending', blocked: true, durationMs: null },
      e: { state: 'pending', blocked: true, durationMs: null },
    });
    const path = criticalPath(steps);
    const [top] = findBottlenecks(steps, path);
    expect(top!.name).toBe('c');
    // The blocked steps never run: the path ends at the failed step.
    expect(path.stepIds).toEqual([1, 3]);
    // downstream d, e (2 × 5) + unfinished (2 × 15) + on the 2-step critical path (2 × 10)
    // + error 30 + 2 retries × 10
    expect(top!.onCriticalPath).toBe(true);
    expect(top!.impactScore).toBe(10 + 30 + 20 + 30 + 20);
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
