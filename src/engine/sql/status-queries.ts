/** Counts for the health status endpoint: tasks and steps by state, and the workers seen recently. */
import type { SqlContext } from './sql-context.js';

export interface WorkerStatus {
  readonly id: string;
  readonly name: string;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly concurrency: number;
  readonly namespaces: string[] | null;
  readonly startedAt: Date;
  readonly lastHeartbeatAt: Date;
}

export async function countByState(
  sql: SqlContext,
  table: 'tasks' | 'steps',
): Promise<Record<string, number>> {
  const { rows } = await sql.db.query<{ state: string; count: number }>(
    `SELECT state, count(*)::integer AS count FROM ${sql.schema}.${table} GROUP BY state ORDER BY state`,
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.count)]));
}

/** Workers not stopped whose heartbeat is within their lease: the ones alive now. */
export async function liveWorkers(sql: SqlContext): Promise<WorkerStatus[]> {
  const { rows } = await sql.db.query<{
    id: string;
    name: string;
    hostname: string | null;
    pid: number | null;
    concurrency: number;
    namespaces: string[] | null;
    started_at: Date;
    last_heartbeat_at: Date;
  }>(
    `SELECT id, name, hostname, pid, concurrency, namespaces, started_at, last_heartbeat_at
     FROM ${sql.schema}.workers
     WHERE stopped_at IS NULL AND last_heartbeat_at > now() - lease_ms * interval '1 millisecond'
     ORDER BY started_at`,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    pid: r.pid,
    concurrency: r.concurrency,
    namespaces: r.namespaces,
    startedAt: r.started_at,
    lastHeartbeatAt: r.last_heartbeat_at,
  }));
}
