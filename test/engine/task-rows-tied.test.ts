/**
 * Since migration 42 no foreign key ties a step to its task or a task to its template (the per-row checks
 * cost the creating path): what they guaranteed still holds. Deleting tasks, by retention or by hand, takes
 * their steps and only theirs; TRUNCATE takes them all; a template that tasks use cannot be deleted; an
 * unknown template id writes nothing.
 */
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, type TestTasker, testTasker } from '../helpers.js';

async function stepTaskIds(t: TestTasker): Promise<number[]> {
  const { rows } = await t.db.query<{ task_id: string }>(
    `SELECT DISTINCT task_id FROM ${quoteIdent(t.schema)}.steps ORDER BY task_id`,
  );
  return rows.map((r) => Number(r.task_id));
}

describe.each(BACKENDS)('steps and tasks stay tied without foreign keys, on %s', (backend) => {
  test('deleting tasks by hand deletes their steps and only theirs; TRUNCATE empties both', async () => {
    const t = await testTasker(backend);
    t.tasker.register(
      defineTask({
        name: 'pair',
        steps: [
          { name: 'a', handler: async () => ({}) },
          { name: 'b', dependsOn: ['a'], handler: async () => ({}) },
        ],
      }),
    );
    const made = await t.tasker.createTasks(
      Array.from({ length: 4 }, (_, i) => ({ name: 'pair', context: { i } })),
    );
    const ids = made.map((c) => c.id);
    expect(await stepTaskIds(t)).toEqual(ids);

    const s = quoteIdent(t.schema);
    await t.db.query(`DELETE FROM ${s}.tasks WHERE id = ANY ($1)`, [[ids[0], ids[2]]]);
    expect(await stepTaskIds(t)).toEqual([ids[1], ids[3]]);

    await t.db.exec(`TRUNCATE ${s}.tasks CASCADE`);
    expect(await stepTaskIds(t)).toEqual([]);
  });

  test('a template that tasks use cannot be deleted; an unused one can', async () => {
    const t = await testTasker(backend);
    t.tasker.register(defineTask({ name: 'used', steps: [{ name: 'only', handler: async () => ({}) }] }));
    t.tasker.register(defineTask({ name: 'unused', steps: [{ name: 'only', handler: async () => ({}) }] }));
    await t.tasker.createTask({ name: 'used' });
    // Storing a template happens on first use: create one task of the other, then remove it by retention's
    // own path, so that the template is stored and unused.
    const other = await t.tasker.createTask({ name: 'unused' });
    const s = quoteIdent(t.schema);
    await t.db.query(`SELECT * FROM ${s}._delete_tasks($1)`, [[other.id]]);

    const idOf = async (name: string) => {
      const { rows } = await t.db.query<{ id: number }>(`SELECT id FROM ${s}.named_tasks WHERE name = $1`, [
        name,
      ]);
      return rows[0]!.id;
    };
    const used = await idOf('used');
    await expect(t.db.query(`DELETE FROM ${s}.named_tasks WHERE id = $1`, [used])).rejects.toMatchObject({
      code: '23503',
      message: `task template ${used} is still used by tasks`,
    });
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${s}.named_tasks`);
    expect(Number(rows[0]!.n)).toBe(2);

    await t.db.query(`DELETE FROM ${s}.named_tasks WHERE id = $1`, [await idOf('unused')]);
    const after = await t.db.query<{ name: string }>(`SELECT name FROM ${s}.named_tasks`);
    expect(after.rows.map((r) => r.name)).toEqual(['used']);
  });

  test('create_tasks refuses a template id that does not exist and writes nothing', async () => {
    const t = await testTasker(backend);
    const s = quoteIdent(t.schema);
    await expect(
      t.db.query(`SELECT * FROM ${s}.create_tasks($1, $2)`, [987654, JSON.stringify([{ context: {} }])]),
    ).rejects.toMatchObject({ code: 'TKNF3' });
    const { rows } = await t.db.query<{ tasks: number; steps: number }>(
      `SELECT (SELECT count(*) FROM ${s}.tasks)::integer AS tasks, (SELECT count(*) FROM ${s}.steps)::integer AS steps`,
    );
    expect(rows[0]).toEqual({ tasks: 0, steps: 0 });
  });
});
