// Schedules in a running engine, on PostgreSQL and PGlite: they fire on time through the worker's ticker,
// pause and resume with catch-up, run now, list their next fire times, reconcile configured ones, and
// refuse bad specs naming the field.
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask, isTaskerError } from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

const report = defineTask({
  namespace: 'reports',
  name: 'daily',
  version: '1.0.0',
  contextSchema: { type: 'object', required: ['region'], properties: { region: { type: 'string' } } },
  steps: [
    {
      name: 'build',
      handler: ({ context }: { context: { region: string } }) => `report for ${context.region}`,
    },
  ],
});

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.each(BACKENDS)('schedules on %s', { timeout: 60_000 }, (backend) => {
  it('an interval schedule fires through the worker, once per tick, with its context and identity', async () => {
    const t = await testTasker(backend);
    t.tasker.register(report);
    const fired: unknown[] = [];
    t.tasker.events.on('schedule.fired', (e) => fired.push(e));
    const schedule = await t.tasker.addSchedule({
      name: 'every-second',
      task: 'reports/daily',
      intervalMs: 1000,
      context: { region: 'eu' },
    });
    expect(schedule).toMatchObject({
      task: 'reports/daily',
      intervalMs: 1000,
      catchUp: 'skip',
      paused: false,
      source: 'api',
    });
    expect(schedule.upcoming).toHaveLength(5);
    expect(schedule.upcoming[1]!.getTime() - schedule.upcoming[0]!.getTime()).toBe(1000);

    await t.tasker.startWorker();
    const tasks = await until('three scheduled tasks', async () => {
      const page = await t.tasker.listTasks({ namespace: 'reports' });
      return page.tasks.length >= 3 ? page.tasks : null;
    });
    await t.tasker.pauseSchedule('every-second');
    const done = await t.tasker.waitForTask(tasks[0]!.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('complete');
    expect(done.steps[0]!.results).toBe('report for eu');
    expect(done.initiator).toBe('schedule:every-second');

    const s = quoteIdent(t.schema);
    const { rows } = await t.db.query<{ ticks: string; tasks: string; keys: string }>(
      `SELECT (SELECT count(DISTINCT tick_at) FROM ${s}.schedule_fires) AS ticks,
              (SELECT count(*) FROM ${s}.tasks WHERE initiator = 'schedule:every-second') AS tasks,
              (SELECT count(DISTINCT identity_key) FROM ${s}.tasks WHERE initiator = 'schedule:every-second') AS keys`,
    );
    expect(Number(rows[0]!.tasks)).toBe(Number(rows[0]!.ticks));
    expect(Number(rows[0]!.keys)).toBe(Number(rows[0]!.ticks));
    const detail = await t.tasker.getSchedule('every-second');
    expect(detail.fires).toBe(Number(rows[0]!.ticks));
    expect(detail.recentFires.length).toBe(Math.min(20, detail.fires));
    expect(detail.upcoming).toEqual([]); // paused
    await sleep(50);
    expect(fired.length).toBe(detail.fires);
  });

  it('resumed after missed ticks, catch-up "all" fires the latest ones up to its limit and skips the rest', async () => {
    const t = await testTasker(backend);
    t.tasker.register(report);
    await t.tasker.addSchedule({
      name: 'catch-up',
      task: 'reports/daily@1.0.0',
      intervalMs: 1000,
      context: { region: 'us' },
      catchUp: 'all',
      catchUpLimit: 3,
      paused: true,
    });
    // As if it had been created a minute ago and paused for the last 20 ticks (on its 1 s grid).
    await t.db.query(
      `UPDATE ${quoteIdent(t.schema)}.schedules
       SET created_at = created_at - interval '60 seconds', next_fire_at = created_at - interval '20 seconds'`,
    );
    const skipped: Array<{ count: number }> = [];
    t.tasker.events.on('schedule.skipped', (e) => skipped.push(e));
    await t.tasker.startWorker();
    await sleep(300);
    expect((await t.tasker.listTasks({ namespace: 'reports' })).tasks).toHaveLength(0); // paused: nothing
    await t.tasker.resumeSchedule('catch-up');
    const after = await until('the catch-up fires', async () => {
      const s = await t.tasker.getSchedule('catch-up');
      return s.fires >= 3 ? s : null;
    });
    await t.tasker.pauseSchedule('catch-up');
    expect(after.skippedTicks).toBeGreaterThanOrEqual(17);
    // Events are delivered after the emitting code moves on: the fires can be read before it arrives.
    const firstSkip = await until('the skipped event', async () => skipped[0] ?? null);
    expect(firstSkip.count).toBeGreaterThanOrEqual(17);
    const ticks = after.recentFires.map((f) => f.tickAt.getTime()).sort();
    expect(ticks[1]! - ticks[0]!).toBe(1000);
  });

  it('run now, cron listing in a time zone, and specs refused naming the field', async () => {
    const t = await testTasker(backend);
    t.tasker.register(report);
    const nightly = await t.tasker.addSchedule({
      name: 'nightly',
      task: 'reports/daily',
      cron: '30 2 * * *',
      timezone: 'Europe/Paris',
      context: { region: 'fr' },
    });
    const hours = nightly.upcoming.map((d) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        minute: '2-digit',
      }).format(d),
    );
    expect(new Set(hours)).toEqual(new Set(['02:30']));
    const created = await t.tasker.runScheduleNow('nightly');
    expect(created.created).toBe(true);
    const again = await t.tasker.getSchedule('nightly');
    expect(again.nextFireAt).toEqual(nightly.nextFireAt);
    expect(again.recentFires).toEqual([expect.objectContaining({ manual: true, taskId: created.id })]);

    // Changing the context keeps the next tick; changing the timing moves it.
    const changed = await t.tasker.addSchedule({
      name: 'nightly',
      task: 'reports/daily',
      cron: '30 2 * * *',
      timezone: 'Europe/Paris',
      context: { region: 'de' },
    });
    expect(changed.nextFireAt).toEqual(nightly.nextFireAt);
    expect(changed.context).toEqual({ region: 'de' });

    const problems = async (spec: unknown) => {
      const error = await t.tasker.addSchedule(spec as never).catch((e: unknown) => e);
      expect(isTaskerError(error, 'TASKER_INVALID_REQUEST'), JSON.stringify(spec)).toBe(true);
      return ((error as { details?: Array<{ path: string; message: string }> }).details ?? [])
        .map((d) => `${d.path}: ${d.message}`)
        .join('\n');
    };
    expect(
      await problems({ name: 'x', task: 'reports/daily', cron: '61 * * * *', context: { region: 'a' } }),
    ).toMatch(/^cron: .*minute/);
    expect(
      await problems({
        name: 'x',
        task: 'reports/daily',
        cron: '0 2 * * *',
        timezone: 'Mars/Base',
        context: { region: 'a' },
      }),
    ).toMatch(/^timezone:/);
    expect(
      await problems({ name: 'x', task: 'reports/dayly', intervalMs: 5000, context: { region: 'a' } }),
    ).toMatch(/^task: .*did you mean "daily"/);
    expect(
      await problems({ name: 'x', task: 'reports/daily', intervalMs: 5000, context: { area: 'a' } }),
    ).toMatch(/^context/);
    expect(await problems({ name: 'has space', task: 'reports', intervalMs: 50 })).toMatch(
      /name:[\s\S]*task:[\s\S]*intervalMs:/,
    );
    const missing = await t.tasker.pauseSchedule('nope').catch((e: unknown) => e);
    expect(isTaskerError(missing, 'TASKER_SCHEDULE_NOT_FOUND')).toBe(true);
    expect((await t.tasker.listSchedules()).map((s) => s.name)).toEqual(['nightly']);
  });

  it('reconciles the configured schedules without touching the ones added through the API', async () => {
    const t = await testTasker(backend);
    t.tasker.register(report);
    await t.tasker.addSchedule({
      name: 'by-hand',
      task: 'reports/daily',
      intervalMs: 60_000,
      context: { region: 'x' },
    });
    const first = await t.tasker.reconcileSchedules([
      { name: 'a', task: 'reports/daily', cron: '0 * * * *', context: { region: 'a' } },
      { name: 'b', task: 'reports/daily', cron: '0 * * * *', context: { region: 'b' } },
    ]);
    expect(first).toEqual({ added: ['a', 'b'], updated: [], removed: [] });
    const second = await t.tasker.reconcileSchedules([
      { name: 'a', task: 'reports/daily', cron: '0 * * * *', context: { region: 'a' } },
      { name: 'c', task: 'reports/daily', cron: '15 * * * *', context: { region: 'c' } },
    ]);
    expect(second).toEqual({ added: ['c'], updated: [], removed: ['b'] });
    expect((await t.tasker.listSchedules()).map((s) => [s.name, s.source])).toEqual([
      ['a', 'config'],
      ['by-hand', 'api'],
      ['c', 'config'],
    ]);
    const bad = await t.tasker
      .reconcileSchedules([{ name: 'a', task: 'reports/daily', cron: 'nope' }])
      .catch((e: unknown) => e);
    expect(isTaskerError(bad, 'TASKER_INVALID_CONFIG')).toBe(true);
    expect((bad as Error).message).toContain('schedules[0].cron');
    expect((await t.tasker.listSchedules()).length).toBe(3); // nothing changed
  });
});
