import { describe, expect, it } from 'vitest';
import type { AuditEntry, StepState } from '../../web/src/api/types.js';
import { buildTimeline } from '../../web/src/lib/timeline.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
let key = 0;
function step(
  stepId: number,
  stepName: string,
  from: StepState | null,
  to: StepState,
  atMs: number,
): AuditEntry {
  key += 1;
  return {
    sortKey: key,
    stepId,
    taskId: 1,
    stepName,
    workerName: null,
    fromState: from,
    toState: to,
    metadata: null,
    createdAt: new Date(T0 + atMs).toISOString(),
    mostRecent: false,
  };
}

describe('buildTimeline', () => {
  it('turns a failed attempt, its backoff and the successful retry into three segments', () => {
    const trail = [
      {
        sortKey: 0,
        taskId: 1,
        fromState: null,
        toState: 'in_progress',
        metadata: null,
        createdAt: new Date(T0).toISOString(),
        mostRecent: true,
      } as AuditEntry,
      step(10, 'fetch', 'pending', 'in_progress', 100),
      step(10, 'fetch', 'in_progress', 'waiting_for_retry', 400),
      step(10, 'fetch', 'waiting_for_retry', 'in_progress', 1400),
      step(10, 'fetch', 'in_progress', 'complete', 1600),
    ];
    const timeline = buildTimeline(trail, T0 + 5000, [{ id: 10, name: 'fetch' }]);
    const row = timeline.rows[0]!;
    expect(row.attempts).toBe(2);
    expect(row.segments.map((s) => [s.kind, s.attempt, s.outcome, s.end - s.start, s.open])).toEqual([
      ['attempt', 1, 'waiting_for_retry', 300, false],
      ['backoff', 1, null, 1000, false],
      ['attempt', 2, 'complete', 200, false],
    ]);
    expect(row.spanMs).toBe(1500);
    expect(timeline.start).toBe(T0 + 100);
    expect(timeline.end).toBe(T0 + 1600);
  });

  it('draws a running attempt up to now, and gives steps that never ran an empty row in the given order', () => {
    const trail = [step(2, 'b', 'pending', 'in_progress', 0)];
    const timeline = buildTimeline(trail, T0 + 900, [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    expect(timeline.rows.map((r) => r.stepName)).toEqual(['a', 'b']);
    expect(timeline.rows[0]!.segments).toEqual([]);
    expect(timeline.rows[1]!.segments[0]).toMatchObject({
      kind: 'attempt',
      open: true,
      end: T0 + 900,
      outcome: null,
    });
  });

  it('orders transitions by time even when the trail arrives shuffled, and counts attempts across a task retry', () => {
    const trail = [
      step(5, 'c', 'error', 'pending', 700),
      step(5, 'c', 'in_progress', 'error', 300),
      step(5, 'c', 'pending', 'in_progress', 800),
      step(5, 'c', 'pending', 'in_progress', 100),
      step(5, 'c', 'in_progress', 'complete', 950),
    ];
    const row = buildTimeline(trail, T0 + 2000).rows[0]!;
    expect(row.segments.map((s) => [s.attempt, s.outcome])).toEqual([
      [1, 'error'],
      [2, 'complete'],
    ]);
  });
});
