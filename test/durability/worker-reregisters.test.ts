/**
 * A worker whose row is gone (reaped while its heartbeats were late) hears SQLSTATE TKW01 from heartbeat()
 * (the one SQLSTATE table classifies it) and registers again under the same id, instead of failing.
 */
import { describe, expect, test } from 'vitest';
import { classifyDatabaseError } from '../../src/db/sql-errors.js';
import { defineTask } from '../../src/index.js';
import { BACKENDS, sleep, testTasker } from '../helpers.js';

describe.each(BACKENDS)('worker re-registration on %s', (backend) => {
  test('a deleted worker row comes back at the next heartbeat', async () => {
    expect(classifyDatabaseError({ code: 'TKW01' })?.kind).toBe('unregistered-worker');
    const { tasker, schema, db } = await testTasker(backend, {
      execution: { leaseMs: 1000, heartbeatIntervalMs: 200 },
    });
    tasker.register(
      defineTask({ namespace: 't', name: 'noop', steps: [{ name: 'a', handler: async () => ({}) }] }),
    );
    const worker = await tasker.startWorker();
    const ids = async () =>
      (
        await db.query<{ id: string }>(`SELECT id FROM "${schema}".workers WHERE stopped_at IS NULL`)
      ).rows.map((r) => r.id);
    const [id] = await ids();
    expect(id).toBeDefined();
    await db.query(`DELETE FROM "${schema}".workers WHERE id = $1`, [id]);
    expect(await ids()).toEqual([]);
    let back: string[] = [];
    for (let i = 0; i < 50 && back.length === 0; i++) {
      await sleep(100);
      back = await ids();
    }
    expect(back).toEqual([id]);
    expect(worker.state).toBe('running');
  });
});
