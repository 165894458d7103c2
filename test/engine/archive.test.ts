// Archiving (retention's archive mode): expired tasks move, whole, into monthly partitions; they read back
// by id with their steps and the same audit trail; listings read the tiers asked for (active, recent,
// archived, all) with one cursor across them; partitions are created ahead and whole old months dropped.
// PostgreSQL and PGlite.
import { describe, expect, test } from 'vitest';
import { tierStates } from '../../src/engine/list-tasks.js';
import { defineTask, isTaskerError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';
import { finishedTasks } from './finished-tasks.js';

const order = defineTask({
  namespace: 'shop',
  name: 'order',
  steps: [
    { name: 'a', handler: () => ({ charged: 1 }) },
    { name: 'b', dependsOn: ['a'], handler: () => 2 },
  ],
});

describe('tiers (pure)', () => {
  test('the states each source is read for', () => {
    expect(tierStates(undefined, undefined)).toEqual({ live: null, archive: [] });
    expect(tierStates('active', undefined)).toEqual({ live: ['pending', 'in_progress'], archive: [] });
    expect(tierStates(['recent', 'archived'], undefined)).toEqual({
      live: ['complete', 'error', 'cancelled', 'resolved_manually'],
      archive: ['complete', 'error', 'cancelled', 'resolved_manually'],
    });
    expect(tierStates('all', 'pending')).toEqual({ live: ['pending'], archive: [] });
    expect(tierStates('archived', ['complete', 'pending'])).toEqual({ live: [], archive: ['complete'] });
  });
});

describe.each(BACKENDS)('archive on %s', { timeout: 120_000 }, (backend) => {
  async function setup(options: Parameters<typeof testTasker>[1] = {}) {
    const t = await testTasker(backend, options);
    t.tasker.register(order);
    await t.tasker.startWorker();
    const tasks = finishedTasks(t);
    return { ...t, ...tasks, run: (n: number) => tasks.run('shop', 'order', n) };
  }

  test('an archived task reads back whole: task, steps, audit trail, by task and by step id', async () => {
    const t = await setup();
    const [id] = await t.run(1);
    await t.tasker.annotateTask(id!, 'note', { by: 'test' });
    const before = await t.tasker.getTask(id!);
    const trail = await t.tasker.getAuditTrail(id!);
    const stepTrail = await t.tasker.getStepTransitions(before.steps[0]!.id);
    expect(before.archivedAt).toBeNull();
    await t.age([id!], 40);
    const aged = await t.tasker.getTask(id!);

    const report = await t.tasker.prune({ olderThan: '30d', archive: true });
    expect(report).toMatchObject({ mode: 'archive', tasks: 1, steps: 2, transitions: trail.length });
    expect(await t.count('tasks', [id!])).toBe(0);
    expect(await t.count('archived_tasks', [id!])).toBe(1);

    const after = await t.tasker.getTask(id!);
    expect(after.archivedAt).toBeInstanceOf(Date);
    expect({ ...after, archivedAt: null }).toEqual(aged);
    expect(await t.tasker.getAuditTrail(id!)).toEqual(trail);
    expect(await t.tasker.getTaskTransitions(id!)).toEqual(trail.filter((x) => !('stepId' in x)));
    expect(await t.tasker.getStep(before.steps[1]!.id)).toEqual(aged.steps[1]);
    expect(await t.tasker.getStepTransitions(before.steps[0]!.id)).toEqual(stepTrail);
    expect(await t.tasker.getStepsOfTasks([id!])).toEqual(aged.steps);
    // The annotation went with it.
    const { rows } = await t.db.query<{
      annotations: Array<{ annotation_type: string; annotation: unknown }>;
    }>(`SELECT annotations FROM ${t.s}.archived_tasks WHERE id = $1`, [id]);
    expect(rows[0]!.annotations).toEqual([
      expect.objectContaining({ annotation_type: 'note', annotation: { by: 'test' } }),
    ]);
    // Archived tasks are read-only: changes are refused as such, not as a task that does not exist.
    for (const attempt of [
      () => t.tasker.cancelTask(id!),
      () => t.tasker.retryTask(id!),
      () => t.tasker.updateTask(id!, { tags: ['x'] }),
      () => t.tasker.resolveStep(before.steps[0]!.id, {}),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(isTaskerError(error, 'TASKER_TASK_ARCHIVED'), String(error)).toBe(true);
      expect((error as Error).message).toContain('in the archive');
    }
    const missing = await t.tasker.cancelTask(999_999).catch((e: unknown) => e);
    expect(isTaskerError(missing, 'TASKER_TASK_NOT_FOUND')).toBe(true);
  });

  test('listings read the tiers asked for, one cursor across live and archive', async () => {
    const t = await setup();
    const ids = await t.run(6);
    const old = ids.filter((_, i) => i % 2 === 0); // 1st, 3rd, 5th
    await t.age(old, 40);
    expect((await t.tasker.prune({ olderThan: '30d', archive: true, batchSize: 2 })).tasks).toBe(3);
    const pending = await t.tasker.createTask({
      namespace: 'shop',
      name: 'order',
      runAt: new Date(Date.now() + 3_600_000),
    });
    const recent = ids.filter((id) => !old.includes(id));
    const listed = async (filter: Parameters<typeof t.tasker.listTasks>[0]) =>
      (await t.tasker.listTasks(filter)).tasks.map((x) => x.id);

    expect(await listed({})).toEqual([pending.id, ...recent].sort((a, b) => b - a));
    expect(await listed({ tier: 'active' })).toEqual([pending.id]);
    expect(await listed({ tier: 'recent', order: 'asc' })).toEqual(recent);
    expect(await listed({ tier: 'archived' })).toEqual([...old].reverse());
    expect(await listed({ tier: 'archived', state: 'pending' })).toEqual([]);
    expect(await listed({ tier: ['active', 'archived'] })).toEqual([pending.id, ...[...old].reverse()]);

    // Pages of 2 over everything, newest first: the cursor crosses from live to archived rows.
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.tasker.listTasks({ tier: 'all', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.tasks.map((x) => x.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([pending.id, ...ids].sort((a, b) => b - a));
    const archivedPage = await t.tasker.listTasks({ tier: 'all', namespace: 'shop', limit: 10 });
    expect(archivedPage.tasks.filter((x) => x.archivedAt !== null).map((x) => x.id)).toEqual(
      [...old].reverse(),
    );

    const error = await t.tasker.listTasks({ tier: 'cold' as never }).catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_INVALID_REQUEST')).toBe(true);
    expect((error as Error).message).toContain('tier');
  });

  test('the policy in archive mode: partitions by month, created ahead, whole old months dropped', async () => {
    const t = await setup({
      retention: { complete: '30d', archive: { keepMonths: 2, createAheadMonths: 1 } },
    });
    const ids = await t.run(3);
    const months = (n: number) => {
      const d = new Date();
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 15));
    };
    // One task finished 6 months ago, one 2 months ago (the 15th: inside the month in every zone).
    for (const [id, n] of [
      [ids[0]!, 6],
      [ids[1]!, 2],
    ] as const) {
      await t.db.query(`UPDATE ${t.s}.tasks SET completed_at = $1 WHERE id = $2`, [months(n), id]);
    }
    const maintained: unknown[] = [];
    t.tasker.events.on('retention.archive_maintained', (e) => maintained.push(e));
    const name = (n: number) => {
      const d = months(n);
      return `archived_tasks_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    };

    expect(await t.tasker.applyRetention()).toMatchObject({ mode: 'archive', tasks: 2 });
    expect((await t.tasker.archivePartitions()).map((p) => p.name)).toEqual([
      name(6),
      name(2),
      name(0),
      name(-1),
    ]);
    expect(await t.count('archived_tasks', ids)).toBe(2);
    expect((await t.tasker.getTask(ids[0]!)).archivedAt).not.toBeNull();
    expect((await t.tasker.getTask(ids[2]!)).archivedAt).toBeNull();

    // The next run drops the month that ended more than keepMonths ago, with its tasks, at once.
    expect(await t.tasker.applyRetention()).toMatchObject({ tasks: 0 });
    expect((await t.tasker.archivePartitions()).map((p) => p.name)).toEqual([name(2), name(0), name(-1)]);
    expect(
      isTaskerError(await t.tasker.getTask(ids[0]!).catch((e: unknown) => e), 'TASKER_TASK_NOT_FOUND'),
    ).toBe(true);
    expect((await t.tasker.getTask(ids[1]!)).state).toBe('complete');
    await new Promise((r) => setTimeout(r, 50));
    expect(maintained).toEqual([
      expect.objectContaining({ created: [name(0), name(-1)], dropped: [] }),
      expect.objectContaining({ created: [], dropped: [name(6)] }),
    ]);
  });

  test('archiving while tasks run moves each task whole, once it has finished', async () => {
    const t = await setup();
    const ids: number[] = [];
    for (let i = 0; i < 30; i++)
      ids.push((await t.tasker.createTask({ namespace: 'shop', name: 'order' })).id);
    let moved = 0;
    // olderThan 0: whatever has finished by then moves, while the rest is still running.
    for (let i = 0; i < 10; i++) {
      moved += (await t.tasker.prune({ olderThan: 0, batchSize: 4, archive: true })).tasks;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of ids) await t.tasker.waitForTask(id, { timeoutMs: 30_000 });
    moved += (await t.tasker.prune({ olderThan: 0, archive: true })).tasks;
    expect(moved).toBe(30);
    expect(await t.count('tasks', ids)).toBe(0);
    for (const id of ids) {
      const task = await t.tasker.getTask(id);
      expect(task.state).toBe('complete');
      expect(task.steps.map((s) => s.state)).toEqual(['complete', 'complete']);
      const trail = await t.tasker.getAuditTrail(id);
      expect(trail.filter((x) => !('stepId' in x)).map((x) => x.toState)).toEqual([
        'in_progress',
        'complete',
      ]);
      expect(trail.filter((x) => 'stepId' in x)).toHaveLength(4);
    }
  });

  test('archive settings are validated with the field named', async () => {
    const error = await testTasker(backend, {
      retention: { complete: '30d', archive: { keepMonths: -1 } },
    }).catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('retention.archive.keepMonths');
  });
});
