/** Worker registration, heartbeats (leases) and taking back the steps of lost workers. */
import type { SqlContext } from './sql-context.js';

export interface WorkerRegistration {
  readonly id: string;
  readonly name: string;
  readonly hostname: string;
  readonly pid: number;
  readonly concurrency: number;
  readonly namespaces: readonly string[] | null;
  readonly leaseMs: number;
}

export async function registerWorker(sql: SqlContext, w: WorkerRegistration): Promise<void> {
  await sql.db.query(`SELECT ${sql.schema}.register_worker($1, $2, $3, $4, $5, $6, $7)`, [
    w.id,
    w.name,
    w.hostname,
    w.pid,
    w.concurrency,
    w.namespaces,
    w.leaseMs,
  ]);
}

/** Renews the worker's leases; returns the running steps it must abort, with why. */
export async function heartbeat(
  sql: SqlContext,
  workerId: string,
  running: readonly number[],
): Promise<Array<{ step_id: number; reason: 'lease_lost' | 'task_cancelled' }>> {
  const { rows } = await sql.db.query<{ step_id: number; reason: 'lease_lost' | 'task_cancelled' }>(
    `SELECT * FROM ${sql.schema}.heartbeat($1, $2)`,
    [workerId, running],
  );
  return rows;
}

export async function reapLostSteps(sql: SqlContext): Promise<number> {
  const { rows } = await sql.db.query<{ n: number }>(`SELECT ${sql.schema}.reap_lost_steps() AS n`);
  return rows[0]?.n ?? 0;
}

export async function releaseSteps(
  sql: SqlContext,
  workerId: string,
  stepIds: readonly number[] | null,
  reason: string,
): Promise<number> {
  const { rows } = await sql.db.query<{ n: number }>(`SELECT ${sql.schema}.release_steps($1, $2, $3) AS n`, [
    workerId,
    stepIds,
    reason,
  ]);
  return rows[0]?.n ?? 0;
}

export async function stopWorker(sql: SqlContext, workerId: string, reason: string): Promise<number> {
  const { rows } = await sql.db.query<{ n: number }>(`SELECT ${sql.schema}.stop_worker($1, $2) AS n`, [
    workerId,
    reason,
  ]);
  return rows[0]?.n ?? 0;
}

/**
 * Releases steps leased to this worker that it does not know it holds (a claim whose reply was lost),
 * once they were claimed more than `minAgeMs` ago. Returns how many.
 */
export async function releaseUnknownSteps(
  sql: SqlContext,
  workerId: string,
  known: readonly number[],
  minAgeMs: number,
): Promise<number> {
  const { rows } = await sql.db.query<{ n: number }>(
    `SELECT ${sql.schema}.release_unknown_steps($1, $2, $3) AS n`,
    [workerId, known, minAgeMs],
  );
  return rows[0]?.n ?? 0;
}
