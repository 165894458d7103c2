/**
 * Schedules of a running engine: adding (or changing) them by name, pausing, resuming, removing, running
 * one now, listing them with their next fire times, reconciling the ones declared in the configuration,
 * and firing the due ones (`tick`, called by every worker's ticker). A tick's task is created in the
 * transaction that takes the schedule row and moves it on, so each tick creates exactly one task however
 * many processes fire (docs/schedules.md).
 */
import { z } from 'zod';
import type { TemplateRegistry } from '../definitions/registry.js';
import { type Problem, TaskerError } from '../errors.js';
import type { CreatedTask } from '../model/types.js';
import { parseOrThrow } from '../parse-or-throw.js';
import type { TaskCreator } from './create-tasks.js';
import {
  type CatchUp,
  nextTick,
  nextTicks,
  planDueTicks,
  type ScheduleTiming,
  timingProblem,
} from './schedule-timing.js';
import {
  deleteSchedules,
  dueSchedules,
  findSchedule,
  insertSchedule,
  listSchedules,
  lockSchedule,
  nextDueAt,
  recentFires,
  recordFires,
  type ScheduleFire,
  type ScheduleRow,
  type ScheduleWrite,
  setPaused,
  takeDueSchedule,
  updateSchedule,
} from './sql/schedule-queries.js';
import type { SqlContext } from './sql/sql-context.js';

const TASK = /^([^/@\s]+)\/([^/@\s]+)(?:@([^/@\s]+))?$/;

export const scheduleSpecSchema = z
  .object({
    /** Unique; letters, digits and - _ . : */
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9_.:-]{1,100}$/,
        'expected 1-100 letters, digits or - _ . : (such as nightly-report)',
      ),
    /** The template: NAMESPACE/NAME[@VERSION] (latest version when none). */
    task: z.string().regex(TASK, 'expected NAMESPACE/NAME[@VERSION], such as reports/daily_summary@1.0.0'),
    /** A cron expression: 5 fields, or 6 with seconds first. */
    cron: z.string().min(1).max(128).optional(),
    /** Or a fixed interval, at least 1000 ms. */
    intervalMs: z
      .number()
      .int()
      .min(1000)
      .max(366 * 86_400_000)
      .optional(),
    /** The IANA time zone the cron expression is read in. @defaultValue 'UTC' */
    timezone: z.string().min(1).max(64).optional(),
    /** The context of every task it creates. @defaultValue {} */
    context: z.record(z.string(), z.unknown()).optional(),
    /** Ticks missed while nothing fired them: skip (default), once, or all (up to catchUpLimit). */
    catchUp: z.enum(['skip', 'once', 'all']).optional(),
    /** @defaultValue 10 */
    catchUpLimit: z.number().int().min(1).max(1000).optional(),
    /** Created paused. @defaultValue false */
    paused: z.boolean().optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const problem = timingProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
  });
export type ScheduleSpec = z.input<typeof scheduleSpecSchema>;

export interface Schedule {
  readonly name: string;
  /** NAMESPACE/NAME[@VERSION] */
  readonly task: string;
  readonly cron: string | null;
  readonly intervalMs: number | null;
  readonly timezone: string;
  readonly context: Record<string, unknown>;
  readonly catchUp: CatchUp;
  readonly catchUpLimit: number;
  readonly paused: boolean;
  /** The next tick not yet fired (it may be past while the schedule is paused). */
  readonly nextFireAt: Date | null;
  /** The next fire times from now (as many as asked for; none while paused). */
  readonly upcoming: Date[];
  readonly lastFiredAt: Date | null;
  readonly lastTaskId: number | null;
  readonly fires: number;
  readonly skippedTicks: number;
  /** api: added through the API or code; config: declared in the configuration file. */
  readonly source: 'api' | 'config';
  readonly createdAt: Date;
}

export interface ScheduleFiredEvent {
  readonly schedule: string;
  readonly tickAt: Date;
  readonly taskId: number;
  /** How long after its tick it fired. */
  readonly lateMs: number;
  readonly manual: boolean;
}

export interface Schedules {
  /** Adds a schedule, or changes the one with that name (its next tick moves only if its timing changed). */
  addSchedule(spec: ScheduleSpec): Promise<Schedule>;
  listSchedules(options?: { upcoming?: number }): Promise<Schedule[]>;
  /** Throws TASKER_SCHEDULE_NOT_FOUND. */
  getSchedule(
    name: string,
    options?: { upcoming?: number },
  ): Promise<Schedule & { recentFires: ScheduleFire[] }>;
  pauseSchedule(name: string): Promise<Schedule>;
  /** Resumes; ticks missed while paused are handled by its catch-up policy. */
  resumeSchedule(name: string): Promise<Schedule>;
  removeSchedule(name: string): Promise<void>;
  /** Creates its task now, outside its timing (the next tick stays as it is). */
  runScheduleNow(name: string): Promise<CreatedTask>;
  /** Makes the schedules declared in the configuration the `source: config` ones; returns what changed. */
  reconcileSchedules(
    specs: readonly ScheduleSpec[],
  ): Promise<{ added: string[]; updated: string[]; removed: string[] }>;
  /** Fires what is due (templates registered here only); returns how many tasks it created. */
  tick(): Promise<number>;
  /** When the next schedule is due. */
  nextDueAt(): Promise<Date | null>;
}

export function createSchedules(deps: {
  sql: SqlContext;
  db: <T>(fn: () => Promise<T>) => Promise<T>;
  registry: TemplateRegistry;
  creator: TaskCreator;
  emit: (name: 'schedule.fired' | 'schedule.skipped', payload: Record<string, unknown>) => void;
  /** Called when a schedule changed here, so the local ticker can look again. */
  onChange?: () => void;
  onError?: (error: unknown, schedule: string) => void;
}): Schedules {
  const { sql, db, registry, creator } = deps;

  const timingOf = (
    s: Pick<ScheduleRow, 'cron' | 'intervalMs' | 'timezone' | 'createdAt'>,
  ): ScheduleTiming => ({
    cron: s.cron,
    intervalMs: s.intervalMs,
    timezone: s.timezone,
    anchor: s.createdAt,
  });

  const present = (row: ScheduleRow, upcoming = 5): Schedule => ({
    name: row.name,
    task: `${row.namespace}/${row.taskName}${row.taskVersion ? `@${row.taskVersion}` : ''}`,
    cron: row.cron,
    intervalMs: row.intervalMs,
    timezone: row.timezone,
    context: row.context,
    catchUp: row.catchUp,
    catchUpLimit: row.catchUpLimit,
    paused: row.paused,
    nextFireAt: row.nextFireAt,
    upcoming: row.paused || upcoming <= 0 ? [] : nextTicks(timingOf(row), new Date(), upcoming),
    lastFiredAt: row.lastFiredAt,
    lastTaskId: row.lastTaskId,
    fires: row.fires,
    skippedTicks: row.skippedTicks,
    source: row.source,
    createdAt: row.createdAt,
  });

  const notFound = (name: string) =>
    new TaskerError('TASKER_SCHEDULE_NOT_FOUND', `no schedule is named "${name}"`);

  const requestFor = (
    row: Pick<ScheduleRow, 'name' | 'namespace' | 'taskName' | 'taskVersion' | 'context'>,
    key: string,
  ) => ({
    namespace: row.namespace,
    name: row.taskName,
    ...(row.taskVersion ? { version: row.taskVersion } : {}),
    context: row.context,
    idempotencyKey: `schedule:${row.name}:${key}`,
    initiator: `schedule:${row.name}`.slice(0, 128),
    sourceSystem: 'schedule',
    reason: `schedule ${row.name}`.slice(0, 128),
  });

  /** The spec as a row to write; checks its template and context here (every problem at once). */
  async function toWrite(spec: ScheduleSpec, source: 'api' | 'config'): Promise<ScheduleWrite> {
    const s = parseOrThrow(scheduleSpecSchema, spec, 'schedule', 'TASKER_INVALID_REQUEST');
    const [, namespace, taskName, taskVersion] = TASK.exec(s.task)!;
    const row = {
      name: s.name,
      namespace: namespace!,
      taskName: taskName!,
      taskVersion: taskVersion ?? null,
      cron: s.cron ?? null,
      intervalMs: s.intervalMs ?? null,
      timezone: s.timezone ?? 'UTC',
      context: s.context ?? {},
      catchUp: s.catchUp ?? 'skip',
      catchUpLimit: s.catchUpLimit ?? 10,
      paused: s.paused ?? false,
      nextFireAt: null,
      source,
    } satisfies ScheduleWrite;
    // The template must be known here and the context valid for it: a schedule that can never fire
    // is refused now rather than failing at every tick.
    try {
      await creator.prepareTasks([requestFor(row, 'check')]);
    } catch (error) {
      if (error instanceof TaskerError && error.details) {
        const details: Problem[] = error.details.map((p) => ({
          path: p.path === 'name' || p.path === 'namespace' || p.path === 'version' ? 'task' : p.path,
          message: p.message,
        }));
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          `invalid schedule ${row.name}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
          {
            details,
          },
        );
      }
      throw error;
    }
    return row;
  }

  /**
   * Inserts or updates by name; the next tick is recomputed when the timing changed or was unset. Two
   * processes adding the same new schedule at once (workers reconciling on start): one inserts, the
   * other finds it and updates.
   */
  async function upsert(
    write: ScheduleWrite,
  ): Promise<{ row: ScheduleRow; created: boolean; changed: boolean }> {
    return (await upsertOnce(write)) ?? (await upsertOnce(write))!;
  }

  async function upsertOnce(
    write: ScheduleWrite,
  ): Promise<{ row: ScheduleRow; created: boolean; changed: boolean } | null> {
    return sql.db.transaction(async (tx) => {
      const existing = await lockSchedule(sql, tx, write.name);
      const now = new Date();
      if (!existing) {
        const nextFireAt = nextTick({ ...timingOf({ ...write, createdAt: now }) }, now);
        // created_at is the anchor of an interval's ticks: the same moment the first tick was computed from.
        const inserted = await insertSchedule(sql, tx, { ...write, nextFireAt }, now);
        if (!inserted) return null;
        return {
          row: inserted,
          created: true,
          changed: true,
        };
      }
      const timingChanged =
        existing.cron !== write.cron ||
        existing.intervalMs !== write.intervalMs ||
        existing.timezone !== write.timezone ||
        existing.nextFireAt === null;
      const nextFireAt = timingChanged
        ? nextTick(timingOf({ ...write, createdAt: existing.createdAt }), now)
        : existing.nextFireAt;
      const same =
        !timingChanged &&
        existing.namespace === write.namespace &&
        existing.taskName === write.taskName &&
        existing.taskVersion === write.taskVersion &&
        JSON.stringify(existing.context) === JSON.stringify(write.context) &&
        existing.catchUp === write.catchUp &&
        existing.catchUpLimit === write.catchUpLimit &&
        existing.paused === write.paused &&
        existing.source === write.source;
      if (same) return { row: existing, created: false, changed: false };
      return {
        row: await updateSchedule(sql, tx, existing.id, { ...write, nextFireAt }),
        created: false,
        changed: true,
      };
    });
  }

  async function fire(row: ScheduleRow, now: Date): Promise<number> {
    const plan = planDueTicks(timingOf(row), row.nextFireAt!, now, row.catchUp, row.catchUpLimit);
    let prepared: Awaited<ReturnType<TaskCreator['prepareTasks']>>;
    try {
      prepared = await creator.prepareTasks(plan.fire.map((tick) => requestFor(row, tick.toISOString())));
    } catch (error) {
      // The template changed under it (its context is no longer valid): report, and move on to the next
      // tick so that it is not retried in a loop.
      deps.onError?.(error, row.name);
      prepared = { tasks: [] };
      plan.fire.length = 0;
    }
    let created: CreatedTask[] = [];
    const took = await sql.db.transaction(async (tx) => {
      if (!(await takeDueSchedule(sql, tx, row.id, row.nextFireAt!))) return false;
      created = prepared.tasks.length > 0 ? await creator.insertPrepared(tx, prepared) : [];
      await recordFires(
        sql,
        tx,
        row.id,
        plan.fire.map((tickAt, i) => ({ tickAt, taskId: created[i]!.id })),
        {
          next: plan.next,
          skipped: plan.skipped + (prepared.tasks.length === 0 ? plan.fire.length : 0),
          manual: false,
        },
      );
      return true;
    });
    if (!took) return 0;
    const firedAt = Date.now();
    plan.fire.forEach((tickAt, i) => {
      deps.emit('schedule.fired', {
        schedule: row.name,
        tickAt,
        taskId: created[i]!.id,
        lateMs: Math.max(0, firedAt - tickAt.getTime()),
        manual: false,
      });
    });
    if (plan.skipped > 0) deps.emit('schedule.skipped', { schedule: row.name, count: plan.skipped });
    return created.filter((c) => c.created).length;
  }

  return {
    async addSchedule(spec) {
      const write = await toWrite(spec, 'api');
      const { row } = await db(() => upsert(write));
      deps.onChange?.();
      return present(row);
    },
    async listSchedules(options = {}) {
      const rows = await db(() => listSchedules(sql));
      return rows.map((r) => present(r, options.upcoming ?? 5));
    },
    async getSchedule(name, options = {}) {
      const row = await db(() => findSchedule(sql, name));
      if (!row) throw notFound(name);
      return {
        ...present(row, options.upcoming ?? 5),
        recentFires: await db(() => recentFires(sql, row.id, 20)),
      };
    },
    async pauseSchedule(name) {
      const row = await db(() => setPaused(sql, name, true));
      if (!row) throw notFound(name);
      deps.onChange?.();
      return present(row);
    },
    async resumeSchedule(name) {
      const row = await db(() => setPaused(sql, name, false));
      if (!row) throw notFound(name);
      deps.onChange?.();
      return present(row);
    },
    async removeSchedule(name) {
      const removed = await db(() => deleteSchedules(sql, [name]));
      if (removed.length === 0) throw notFound(name);
      deps.onChange?.();
    },
    async runScheduleNow(name) {
      const row = await db(() => findSchedule(sql, name));
      if (!row) throw notFound(name);
      const tickAt = new Date();
      const prepared = await creator.prepareTasks([requestFor(row, `manual:${tickAt.toISOString()}`)]);
      const [created] = await db(() =>
        sql.db.transaction(async (tx) => {
          const tasks = await creator.insertPrepared(tx, prepared);
          await recordFires(sql, tx, row.id, [{ tickAt, taskId: tasks[0]!.id }], {
            next: null,
            skipped: 0,
            manual: true,
          });
          return tasks;
        }),
      );
      deps.emit('schedule.fired', {
        schedule: row.name,
        tickAt,
        taskId: created!.id,
        lateMs: 0,
        manual: true,
      });
      return created!;
    },
    async reconcileSchedules(specs) {
      const writes: ScheduleWrite[] = [];
      const problems: Problem[] = [];
      const names = new Set<string>();
      for (const [i, spec] of specs.entries()) {
        try {
          const write = await toWrite(spec, 'config');
          if (names.has(write.name))
            problems.push({ path: `schedules[${i}].name`, message: `a second schedule named ${write.name}` });
          names.add(write.name);
          writes.push(write);
        } catch (error) {
          if (!(error instanceof TaskerError)) throw error;
          for (const p of error.details ?? [{ path: '', message: error.message }]) {
            problems.push({ path: `schedules[${i}]${p.path ? `.${p.path}` : ''}`, message: p.message });
          }
        }
      }
      if (problems.length > 0) {
        throw new TaskerError(
          'TASKER_INVALID_CONFIG',
          `invalid schedules:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
          {
            details: problems,
          },
        );
      }
      const added: string[] = [];
      const updated: string[] = [];
      for (const write of writes) {
        const { created, changed } = await db(() => upsert(write));
        if (created) added.push(write.name);
        else if (changed) updated.push(write.name);
      }
      const stale = (await db(() => listSchedules(sql))).filter(
        (r) => r.source === 'config' && !names.has(r.name),
      );
      const removed =
        stale.length > 0
          ? await db(() =>
              deleteSchedules(
                sql,
                stale.map((r) => r.name),
              ),
            )
          : [];
      if (added.length + updated.length + removed.length > 0) deps.onChange?.();
      return { added, updated, removed };
    },
    async tick() {
      const { now, due } = await db(() => dueSchedules(sql, 50));
      let created = 0;
      for (const row of due) {
        // Only templates this process knows: another worker serves the rest.
        if (!registry.find(row.namespace, row.taskName, row.taskVersion ?? undefined)) continue;
        try {
          created += await db(() => fire(row, now));
        } catch (error) {
          deps.onError?.(error, row.name);
        }
      }
      return created;
    },
    nextDueAt: () => db(() => nextDueAt(sql)),
  };
}
