// Retention: old finished tasks go with their steps and audit trail, in batches; unexpired, unfinished
// and other templates' tasks stay; policies per template override the default; the maintained counts
// follow; a prune while tasks run leaves every task whole. PostgreSQL and PGlite.
import { describe, expect, test } from 'vitest';
import { retentionRules } from '../../src/engine/retention-policy.js';
import { defineTask, isTaskerError } from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';
import { finishedTasks } from './finished-tasks.js';

const ok = (namespace: string, name: string) =>
  defineTask({
    namespace,
    name,
    steps: [
      { name: 'a', handler: () => 1 },
      { name: 'b', dependsOn: ['a'], handler: () => 2 },
    ],
  });
const failing = defineTask({
  namespace: 'shop',
  name: 'fails',
  steps: [
    {
      name: 'boom',
      retryLimit: 1,
      handler: () => {
        throw new Error('no');
      },
    },
  ],
});

describe('retention rules (pure)', () => {
  test('the most specific entry decides a state group; forever keeps it; unset falls back', () => {
    const rules = retentionRules({
      complete: '30d',
      error: 'forever',
      templates: [
        { namespace: 'shop', complete: '7d' },
        { namespace: 'shop', name: 'audit', complete: 'forever', cancelled: '1d' },
      ],
    });
    expect(rules).toEqual([
      {
        namespace: null,
        name: null,
        states: ['complete', 'resolved_manually'],
        olderThanMs: 30 * 86_400_000,
        exclude: ['shop', 'shop/audit'],
      },
      {
        namespace: 'shop',
        name: null,
        states: ['complete', 'resolved_manually'],
        olderThanMs: 7 * 86_400_000,
        exclude: ['shop/audit'],
      },
      { namespace: 'shop', name: 'audit', states: ['cancelled'], olderThanMs: 86_400_000, exclude: [] },
    ]);
    expect(retentionRules({})).toEqual([]);
  });
});

describe.each(BACKENDS)('retention on %s', { timeout: 120_000 }, (backend) => {
  async function setup(options: Parameters<typeof testTasker>[1] = {}) {
    const t = await testTasker(backend, options);
    for (const d of [ok('shop', 'order'), ok('shop', 'audit'), ok('crm', 'signup'), failing])
      t.tasker.register(d);
    await t.tasker.startWorker();
    const tasks = finishedTasks(t);
    const { s } = tasks;
    const exists = (ids: number[]) => tasks.count('tasks', ids);
    const auditRows = async (ids: number[]) =>
      Number(
        (
          await t.db.query<{ n: string }>(
            `SELECT (SELECT count(*) FROM ${s}.task_transitions WHERE task_id = ANY ($1))
              + (SELECT count(*) FROM ${s}.step_transitions st JOIN ${s}.steps x ON x.id = st.step_id WHERE x.task_id = ANY ($1)) AS n`,
            [ids],
          )
        ).rows[0]!.n,
      );
    const counted = async () =>
      Object.fromEntries(
        (
          await t.db.query<{ entity: string; state: string; n: string }>(
            `SELECT * FROM ${s}.count_by_state()`,
          )
        ).rows.map((r) => [`${r.entity}:${r.state}`, Number(r.n)]),
      );
    return { ...t, ...tasks, exists, auditRows, counted };
  }

  test('prune removes old finished tasks in batches with their audit trail; a dry run only counts', async () => {
    const t = await setup();
    const old = await t.run('shop', 'order', 7);
    const recent = await t.run('shop', 'order', 2);
    const otherNamespace = await t.run('crm', 'signup', 2);
    await t.age(old, 40);
    await t.age(otherNamespace, 40);
    const auditBefore = await t.auditRows(old);
    expect(auditBefore).toBeGreaterThan(7 * 5);

    const dry = await t.tasker.prune({ olderThan: '30d', namespace: 'shop', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, tasks: 7, steps: 14, transitions: auditBefore });
    expect(await t.exists(old)).toBe(7);

    const events: unknown[] = [];
    t.tasker.events.on('retention.pruned', (e) => events.push(e));
    const report = await t.tasker.prune({ olderThan: '30d', namespace: 'shop', batchSize: 3 });
    expect(report).toMatchObject({
      dryRun: false,
      skipped: false,
      tasks: 7,
      steps: 14,
      transitions: auditBefore,
      batches: 3,
    });
    expect(await t.exists(old)).toBe(0);
    expect(await t.auditRows(old)).toBe(0);
    expect(await t.exists(recent)).toBe(2);
    expect(await t.exists(otherNamespace)).toBe(2);
    await sleep(50);
    expect(events).toEqual([expect.objectContaining({ trigger: 'manual', tasks: 7, batches: 3 })]);
    // The maintained counts follow the deletes.
    expect(await t.counted()).toMatchObject({ 'task:complete': 4, 'step:complete': 8 });
    expect(await t.tasker.getTask(recent[0]!)).toMatchObject({ state: 'complete' });
    expect((await t.tasker.listTasks({})).tasks.map((x) => x.id).sort()).toEqual(
      [...recent, ...otherNamespace].sort(),
    );
  });

  test('states and template filters; bad requests are refused with the field named', async () => {
    const t = await setup();
    const done = await t.run('shop', 'order', 2);
    const failed = await t.run('shop', 'fails', 2);
    await t.age([...done, ...failed], 10);
    expect((await t.tasker.prune({ olderThan: '5d', states: ['error'] })).tasks).toBe(2);
    expect(await t.exists(failed)).toBe(0);
    expect(await t.exists(done)).toBe(2);
    expect((await t.tasker.prune({ olderThan: '11d' })).tasks).toBe(0);
    expect((await t.tasker.prune({ olderThan: '5d', namespace: 'shop', name: 'audit' })).tasks).toBe(0);
    expect(
      (await t.tasker.prune({ olderThan: 5 * 86_400_000, namespace: 'shop', name: 'order' })).tasks,
    ).toBe(2);

    for (const [request, path] of [
      [{ olderThan: 'soon' }, 'olderThan'],
      [{ olderThan: 'forever' }, 'olderThan'],
      [{ olderThan: '1d', states: ['running'] }, 'states'],
      [{ olderThan: '1d', name: 'order' }, 'name'],
      [{ olderThan: '1d', extra: true }, ''],
    ] as const) {
      const error = await t.tasker.prune(request as never).catch((e: unknown) => e);
      expect(isTaskerError(error, 'TASKER_INVALID_REQUEST'), JSON.stringify(request)).toBe(true);
      expect((error as Error).message).toContain(path);
    }
  });

  test('the configured policy: per-template entries override the default, unfinished tasks stay', async () => {
    const t = await setup({
      retention: {
        complete: '30d',
        error: '60d',
        templates: [{ namespace: 'shop', name: 'audit', complete: 'forever' }],
      },
    });
    const orders = await t.run('shop', 'order', 2);
    const audits = await t.run('shop', 'audit', 2);
    const failures = await t.run('shop', 'fails', 2);
    await t.age([...orders, ...audits], 45);
    await t.age(failures, 45);
    // A task that never ran (pending) with an old creation time is not finished: it stays.
    const pending = await t.tasker.createTask({
      namespace: 'crm',
      name: 'signup',
      runAt: new Date(Date.now() + 3_600_000),
    });
    await t.db.query(`UPDATE ${t.s}.tasks SET created_at = now() - interval '400 days' WHERE id = $1`, [
      pending.id,
    ]);

    expect(await t.tasker.applyRetention({ dryRun: true })).toMatchObject({ tasks: 2, dryRun: true });
    expect(await t.tasker.applyRetention()).toMatchObject({ tasks: 2 });
    expect(await t.exists(orders)).toBe(0);
    expect(await t.exists(audits)).toBe(2); // forever for this template
    expect(await t.exists(failures)).toBe(2); // error: 60 days
    expect(await t.exists([pending.id])).toBe(1);
  });

  test('a prune while tasks run leaves every task whole', async () => {
    const t = await setup();
    const ids: number[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await t.tasker.createTask({ namespace: 'shop', name: 'order' })).id);
    let pruned = 0;
    // olderThan 0: whatever has finished by then goes, while the rest is still running.
    for (let i = 0; i < 10; i++) {
      pruned += (await t.tasker.prune({ olderThan: 0, batchSize: 4 })).tasks;
      await sleep(20);
    }
    await sleep(500);
    pruned += (await t.tasker.prune({ olderThan: 0 })).tasks;
    expect(pruned).toBe(40);
    expect(await t.exists(ids)).toBe(0);
    expect(await t.auditRows(ids)).toBe(0);
    expect(await t.count('steps', ids, 'task_id')).toBe(0);
    expect(await t.counted()).toEqual({});
  });

  test('retention config is validated with the field named', async () => {
    const error = await testTasker(backend, {
      retention: { complete: '30 days', templates: [{ namespace: 'a' }, { namespace: 'a' }] },
    }).catch((e: unknown) => e);
    expect(isTaskerError(error, 'TASKER_INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('retention.complete');
    expect((error as Error).message).toContain('a second entry for a');
  });
});
