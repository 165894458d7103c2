// Schedule timing, pure: cron in a time zone across both DST changes, intervals, and catch-up plans.
import { describe, expect, it } from 'vitest';
import {
  GRACE_MS,
  nextTicks,
  planDueTicks,
  type ScheduleTiming,
  timingProblem,
} from '../../src/engine/schedule-timing.js';

const paris = (cron: string): ScheduleTiming => ({
  cron,
  intervalMs: null,
  timezone: 'Europe/Paris',
  anchor: new Date(0),
});
const every = (ms: number, anchor = '2026-01-01T00:00:00Z'): ScheduleTiming => ({
  cron: null,
  intervalMs: ms,
  timezone: 'UTC',
  anchor: new Date(anchor),
});
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('schedule timing', () => {
  it('a daily 02:30 in Europe/Paris fires once a day across both DST changes, at local time', () => {
    // Spring forward on 2026-03-29 (02:00 -> 03:00: 02:30 does not exist; it runs at 03:00 CEST).
    expect(iso(nextTicks(paris('30 2 * * *'), new Date('2026-03-27T12:00:00Z'), 3))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    // Fall back on 2026-10-25 (03:00 -> 02:00: 02:30 happens twice; it runs once).
    const autumn = nextTicks(paris('30 2 * * *'), new Date('2026-10-23T12:00:00Z'), 3);
    expect(autumn).toHaveLength(3);
    expect(new Set(autumn.map((d) => d.toISOString().slice(0, 10))).size).toBe(3);
    expect(iso(autumn)[0]).toBe('2026-10-24T00:30:00.000Z');
    expect(iso(autumn)[2]).toBe('2026-10-26T01:30:00.000Z');
  });

  it('seconds are optional; intervals tick from their anchor', () => {
    expect(
      iso(nextTicks({ ...paris('*/20 * * * * *'), timezone: 'UTC' }, new Date('2026-01-01T00:00:05Z'), 2)),
    ).toEqual(['2026-01-01T00:00:20.000Z', '2026-01-01T00:00:40.000Z']);
    expect(iso(nextTicks(every(90_000), new Date('2026-01-01T00:02:00Z'), 2))).toEqual([
      '2026-01-01T00:03:00.000Z',
      '2026-01-01T00:04:30.000Z',
    ]);
  });

  it('plans catch-up: skip, once and all', () => {
    const t = every(60_000);
    const next = new Date('2026-01-01T00:01:00Z');
    const now = new Date('2026-01-01T00:10:30Z'); // ticks 00:01 .. 00:10 are due (10), latest 30 s late
    expect(planDueTicks(t, next, now, 'skip', 5)).toEqual({
      fire: [new Date('2026-01-01T00:10:00Z')],
      skipped: 9,
      next: new Date('2026-01-01T00:11:00Z'),
    });
    const later = new Date(now.getTime() + GRACE_MS); // the latest is now 90 s late
    expect(planDueTicks(t, next, later, 'skip', 5).fire).toEqual([new Date('2026-01-01T00:11:00Z')]);
    // Every 5 minutes, 90 s after the latest due tick: too late for skip; once fires it anyway.
    const t5 = every(300_000);
    const at = new Date('2026-01-01T00:21:30Z');
    expect(planDueTicks(t5, new Date('2026-01-01T00:05:00Z'), at, 'skip', 5)).toMatchObject({
      fire: [],
      skipped: 4,
    });
    expect(planDueTicks(t5, new Date('2026-01-01T00:05:00Z'), at, 'once', 5)).toMatchObject({
      fire: [new Date('2026-01-01T00:20:00Z')],
      skipped: 3,
    });
    const all = planDueTicks(t, next, now, 'all', 3);
    expect(iso(all.fire)).toEqual([
      '2026-01-01T00:08:00.000Z',
      '2026-01-01T00:09:00.000Z',
      '2026-01-01T00:10:00.000Z',
    ]);
    expect(all.skipped).toBe(7);
    expect(planDueTicks(t, new Date('2026-01-01T00:11:00Z'), now, 'all', 3)).toEqual({
      fire: [],
      skipped: 0,
      next: new Date('2026-01-01T00:11:00Z'),
    });
  });

  it('a long outage of a per-second schedule is counted without walking every tick', () => {
    const t = { ...paris('* * * * * *'), timezone: 'UTC' };
    const plan = planDueTicks(
      t,
      new Date('2026-01-01T00:00:00Z'),
      new Date('2026-01-03T00:00:00.5Z'),
      'once',
      10,
    );
    expect(plan.fire).toEqual([new Date('2026-01-03T00:00:00Z')]);
    expect(plan.skipped).toBeGreaterThanOrEqual(10_000);
    expect(plan.next).toEqual(new Date('2026-01-03T00:00:01Z'));
  });

  it('names what is wrong with a timing', () => {
    expect(timingProblem({ cron: '0 2 * * *', timezone: 'Europe/Paris' })).toBeNull();
    expect(timingProblem({ intervalMs: 5000 })).toBeNull();
    expect(timingProblem({ cron: '61 * * * *' })?.message).toContain('minute');
    expect(timingProblem({ cron: '0 2 * * *', timezone: 'Mars/Base' })).toMatchObject({ path: 'timezone' });
    expect(timingProblem({})).toMatchObject({ path: 'cron', message: 'give either cron or intervalMs' });
    expect(timingProblem({ cron: '* * * * *', intervalMs: 1000 })).toMatchObject({ path: 'cron' });
  });
});
