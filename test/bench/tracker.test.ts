import { describe, expect, it } from 'vitest';
import { Tracker } from '../../src/bench/workloads/tracker.js';

describe('bench tracker', () => {
  it('gives the mean steps in flight over the span in which steps ran', () => {
    const t = new Tracker('single');
    // Two steps overlapping for 50 of their 100 ms, then a third alone: 250 ms of work over 200 ms.
    t.started(1, 'job', 1000);
    t.ended(1, 'job', 1100);
    t.started(2, 'job', 1050);
    t.ended(2, 'job', 1150);
    t.started(3, 'job', 1150);
    t.ended(3, 'job', 1200);
    expect(t.meanInFlightWhileRunning()).toBeCloseTo(250 / 200, 10);
  });

  it('leaves out steps that never ended and has no figure before a step ran', () => {
    const t = new Tracker('chain3');
    expect(t.meanInFlightWhileRunning()).toBeNull();
    t.started(1, 'a', 0);
    t.ended(1, 'a', 10);
    t.started(1, 'b', 12);
    t.ended(1, 'b', 20);
    t.started(1, 'c', 25); // still running
    expect(t.meanInFlightWhileRunning()).toBeCloseTo(18 / 20, 10);
  });
});
