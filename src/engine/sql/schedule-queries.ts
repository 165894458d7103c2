/** Schedules and their fired ticks (migration 17): reading, writing, and taking due ones to fire. */
import type { Queryable } from '../../db/database.js';
import type { CatchUp } from '../schedule-timing.js';
import type { SqlContext } from './sql-context.js';

export interface ScheduleRow {
  readonly id: number;
  readonly name: string;
  readonly namespace: string;
  readonly taskName: string;
  readonly taskVersion: string | null;
  readonly cron: string | null;
  readonly intervalMs: number | null;
  readonly timezone: string;
  readonly context: Record<string, unknown>;
  readonly catchUp: CatchUp;
  readonly catchUpLimit: number;
  readonly paused: boolean;
  readonly nextFireAt: Date | null;
  readonly lastFiredAt: Date | null;
  readonly lastTaskId: number | null;
  readonly fires: number;
  readonly skippedTicks: number;
  readonly source: 'api' | 'config';
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The fields a schedule is written with. */
export type ScheduleWrite = Omit<
  ScheduleRow,
  'id' | 'lastFiredAt' | 'lastTaskId' | 'fires' | 'skippedTicks' | 'createdAt' | 'updatedAt'
>;

const date = (v: unknown) => (v == null ? null : new Date(v as string));

function toRow(r: Record<string, unknown>): ScheduleRow {
  return {
    id: Number(r.id),
    name: String(r.name),
    namespace: String(r.namespace),
    taskName: String(r.task_name),
    taskVersion: (r.task_version as string | null) ?? null,
    cron: (r.cron as string | null) ?? null,
    intervalMs: r.interval_ms == null ? null : Number(r.interval_ms),
    timezone: String(r.timezone),
    context: (r.context ?? {}) as Record<string, unknown>,
    catchUp: r.catch_up as CatchUp,
    catchUpLimit: Number(r.catch_up_limit),
    paused: Boolean(r.paused),
    nextFireAt: date(r.next_fire_at),
    lastFiredAt: date(r.last_fired_at),
    lastTaskId: r.last_task_id == null ? null : Number(r.last_task_id),
    fires: Number(r.fires),
    skippedTicks: Number(r.skipped_ticks),
    source: r.source as 'api' | 'config',
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function listSchedules(sql: SqlContext, q: Queryable = sql.db): Promise<ScheduleRow[]> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT * FROM ${sql.schema}.schedules ORDER BY name`,
  );
  return rows.map(toRow);
}

export async function findSchedule(
  sql: SqlContext,
  name: string,
  q: Queryable = sql.db,
): Promise<ScheduleRow | null> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT * FROM ${sql.schema}.schedules WHERE name = $1`,
    [name],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** Locks a schedule row for an update in the caller's transaction. */
export async function lockSchedule(
  sql: SqlContext,
  tx: Queryable,
  name: string,
): Promise<ScheduleRow | null> {
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT * FROM ${sql.schema}.schedules WHERE name = $1 FOR UPDATE`,
    [name],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** `createdAt` is the anchor of an interval schedule's ticks: the time its first tick was computed from. */
/** The written columns after the key, in the order both statements below list them ($2 to $13). */
function writeValues(s: ScheduleWrite): unknown[] {
  return [
    s.namespace,
    s.taskName,
    s.taskVersion,
    s.cron,
    s.intervalMs,
    s.timezone,
    JSON.stringify(s.context),
    s.catchUp,
    s.catchUpLimit,
    s.paused,
    s.nextFireAt,
    s.source,
  ];
}

export async function insertSchedule(
  sql: SqlContext,
  tx: Queryable,
  s: ScheduleWrite,
  createdAt: Date,
): Promise<ScheduleRow | null> {
  const { rows } = await tx.query<Record<string, unknown>>(
    `INSERT INTO ${sql.schema}.schedules (name, namespace, task_name, task_version, cron, interval_ms, timezone,
       context, catch_up, catch_up_limit, paused, next_fire_at, source, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [s.name, ...writeValues(s), createdAt],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

export async function updateSchedule(
  sql: SqlContext,
  tx: Queryable,
  id: number,
  s: ScheduleWrite,
): Promise<ScheduleRow> {
  const { rows } = await tx.query<Record<string, unknown>>(
    `UPDATE ${sql.schema}.schedules SET namespace = $2, task_name = $3, task_version = $4, cron = $5,
       interval_ms = $6, timezone = $7, context = $8, catch_up = $9, catch_up_limit = $10, paused = $11,
       next_fire_at = $12, source = $13, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [id, ...writeValues(s)],
  );
  return toRow(rows[0]!);
}

export async function deleteSchedules(sql: SqlContext, names: readonly string[]): Promise<string[]> {
  const { rows } = await sql.db.query<{ name: string }>(
    `DELETE FROM ${sql.schema}.schedules WHERE name = ANY ($1) RETURNING name`,
    [names],
  );
  return rows.map((r) => r.name);
}

export async function setPaused(sql: SqlContext, name: string, paused: boolean): Promise<ScheduleRow | null> {
  const { rows } = await sql.db.query<Record<string, unknown>>(
    `UPDATE ${sql.schema}.schedules SET paused = $2, updated_at = now() WHERE name = $1 RETURNING *`,
    [name, paused],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** Due schedules (read without locking; firing locks them), soonest first, with the database's time. */
export async function dueSchedules(
  sql: SqlContext,
  limit: number,
): Promise<{ now: Date; due: ScheduleRow[] }> {
  const { rows } = await sql.db.query<Record<string, unknown>>(
    `SELECT s.*, now() AS db_now FROM ${sql.schema}.schedules s
     WHERE NOT s.paused AND s.next_fire_at <= now() ORDER BY s.next_fire_at LIMIT $1`,
    [limit],
  );
  const now = rows[0] ? new Date(rows[0].db_now as string) : new Date();
  return { now, due: rows.map(toRow) };
}

/**
 * Takes a due schedule for firing in the caller's transaction, if it is still as it was read (the same
 * next tick, not paused) and nobody else is firing it (SKIP LOCKED).
 */
export async function takeDueSchedule(
  sql: SqlContext,
  tx: Queryable,
  id: number,
  nextFireAt: Date,
): Promise<boolean> {
  const { rows } = await tx.query(
    `SELECT id FROM ${sql.schema}.schedules WHERE id = $1 AND NOT paused AND date_trunc('milliseconds', next_fire_at) = $2
     FOR UPDATE SKIP LOCKED`,
    [id, nextFireAt],
  );
  return rows.length === 1;
}

/** Records fired ticks and moves the schedule on, in the firing transaction. */
export async function recordFires(
  sql: SqlContext,
  tx: Queryable,
  id: number,
  fires: ReadonlyArray<{ tickAt: Date; taskId: number }>,
  options: { next: Date | null; skipped: number; manual: boolean },
): Promise<void> {
  if (fires.length > 0) {
    await tx.query(
      `INSERT INTO ${sql.schema}.schedule_fires (schedule_id, tick_at, task_id, manual)
       SELECT $1, f.tick_at, f.task_id, $4 FROM unnest($2::timestamptz[], $3::bigint[]) AS f (tick_at, task_id)
       ON CONFLICT (schedule_id, tick_at) DO NOTHING`,
      [id, fires.map((f) => f.tickAt), fires.map((f) => f.taskId), options.manual],
    );
  }
  const last = fires.at(-1);
  await tx.query(
    `UPDATE ${sql.schema}.schedules SET
       next_fire_at = CASE WHEN $5 THEN next_fire_at ELSE $2 END,
       fires = fires + $3, skipped_ticks = skipped_ticks + $4,
       last_fired_at = CASE WHEN $3 > 0 THEN now() ELSE last_fired_at END,
       last_task_id = coalesce($6, last_task_id)
     WHERE id = $1`,
    [id, options.next, fires.length, options.skipped, options.manual, last?.taskId ?? null],
  );
}

/** When the next schedule is due (null: none). */
export async function nextDueAt(sql: SqlContext): Promise<Date | null> {
  const { rows } = await sql.db.query<{ at: string | Date | null }>(
    `SELECT min(next_fire_at) AS at FROM ${sql.schema}.schedules WHERE NOT paused`,
  );
  return date(rows[0]?.at ?? null);
}

export interface ScheduleFire {
  readonly tickAt: Date;
  readonly taskId: number | null;
  readonly firedAt: Date;
  readonly manual: boolean;
}

export async function recentFires(sql: SqlContext, id: number, limit: number): Promise<ScheduleFire[]> {
  const { rows } = await sql.db.query<Record<string, unknown>>(
    `SELECT tick_at, task_id, fired_at, manual FROM ${sql.schema}.schedule_fires WHERE schedule_id = $1
     ORDER BY tick_at DESC LIMIT $2`,
    [id, limit],
  );
  return rows.map((r) => ({
    tickAt: new Date(r.tick_at as string),
    taskId: r.task_id == null ? null : Number(r.task_id),
    firedAt: new Date(r.fired_at as string),
    manual: Boolean(r.manual),
  }));
}
