// The audit trail cannot be rewritten: UPDATE is refused always, DELETE and TRUNCATE unless the
// transaction sets tasker.allow_audit_delete (retention); on PostgreSQL and PGlite.
import { describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('append-only audit tables on %s', (backend) => {
  test('UPDATE, DELETE and TRUNCATE are refused with TKAU1; deliberate retention may delete', async () => {
    const t = await testTasker(backend);
    t.tasker.register(defineTask({ name: 'audited', steps: [{ name: 'only', handler: () => 1 }] }));
    await t.tasker.startWorker();
    const { id } = await t.tasker.createTask({ name: 'audited' });
    await t.tasker.waitForTask(id, { timeoutMs: 30_000 });
    const s = quoteIdent(t.schema);
    const before = (await t.tasker.getAuditTrail(id)).length;
    expect(before).toBeGreaterThan(2);

    const refused = async (sql: string) => {
      const error = await t.db.query(sql).catch((e: unknown) => e);
      expect((error as { code?: string }).code, sql).toBe('TKAU1');
      expect((error as Error).message).toContain('append-only');
    };
    await refused(`UPDATE ${s}.task_transitions SET to_state = 'error' WHERE task_id = ${id}`);
    await refused(`UPDATE ${s}.step_transitions SET metadata = '{}'`);
    await refused(`DELETE FROM ${s}.task_transitions WHERE task_id = ${id}`);
    await refused(`DELETE FROM ${s}.step_transitions`);
    await refused(`TRUNCATE ${s}.step_transitions`);
    expect((await t.tasker.getAuditTrail(id)).length).toBe(before);

    // Retention says so in its transaction.
    await t.db.exec(
      `BEGIN; SET LOCAL tasker.allow_audit_delete = 'on'; DELETE FROM ${s}.task_transitions WHERE task_id = ${id}; COMMIT;`,
    );
    const left = await t.tasker.getTaskTransitions(id);
    expect(left).toEqual([]);
    // The setting does not outlive that transaction.
    await refused(`DELETE FROM ${s}.step_transitions`);
  });
});
