/**
 * Listing tasks with filters and keyset (cursor) pagination: a stable order that new tasks do not shift.
 * A listing reads tiers (active, recent, archived): the live tables for the first two, the archive for the
 * third, each read in id order and cut at the page size, then merged; the cost is the page, not the
 * history in front of it.
 */
import { TaskerError } from '../errors.js';
import { type ListTasksFilter, listTasksFilterSchema, type TaskTier } from '../model/contracts.js';
import { TASK_STATES, type TaskState } from '../model/states.js';
import type { Task } from '../model/types.js';
import { parseOrThrow } from '../parse-or-throw.js';
import { FINISHED_STATES } from './retention-policy.js';
import type { SqlContext } from './sql/sql-context.js';
import { archivedTaskColumns, taskColumns, toTask } from './sql/task-queries.js';

export type { ListTasksFilter };

export interface TaskPage {
  readonly tasks: Task[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

function decodeCursor(cursor: string): number {
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new TaskerError('TASKER_INVALID_REQUEST', 'invalid cursor: pass the nextCursor of a previous page');
  }
  return id;
}

const FINISHED: ReadonlySet<TaskState> = new Set(FINISHED_STATES);

/** The states each source is read for: null = every state (no condition); [] = not read at all. */
export function tierStates(
  tier: TaskTier | readonly TaskTier[] | undefined,
  state: TaskState | readonly TaskState[] | undefined,
): { live: readonly TaskState[] | null; archive: readonly TaskState[] | null } {
  const tiers = new Set<TaskTier>(tier === undefined ? ['active', 'recent'] : [tier].flat());
  if (tiers.has('all')) for (const t of ['active', 'recent', 'archived'] as const) tiers.add(t);
  const wanted = state === undefined ? null : [...new Set([state].flat())];
  const pick = (keep: (s: TaskState) => boolean, all: boolean) =>
    all && wanted === null ? null : (wanted ?? TASK_STATES).filter(keep);
  const active = tiers.has('active');
  const recent = tiers.has('recent');
  return {
    live: active || recent ? pick((s) => (FINISHED.has(s) ? recent : active), active && recent) : [],
    archive: tiers.has('archived') ? pick((s) => FINISHED.has(s), false) : [],
  };
}

type Row = Parameters<typeof toTask>[0];

export async function listTasks(sql: SqlContext, filter: ListTasksFilter): Promise<TaskPage> {
  const f = parseOrThrow(listTasksFilterSchema, filter, 'task filter');
  const desc = (f.order ?? 'desc') === 'desc';
  const limit = f.limit ?? 50;
  const cursor = f.cursor === undefined ? undefined : decodeCursor(f.cursor);
  const states = tierStates(f.tier, f.state);

  /** One source's page: `t` is the row filtered on (the task, or its archive row). */
  const page = async (source: 'live' | 'archive', only: readonly TaskState[] | null): Promise<Row[]> => {
    if (only !== null && only.length === 0) return [];
    const t = source === 'live' ? 't' : 'a';
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (f.namespace !== undefined) add((p) => `ns.name = ${p}`, f.namespace);
    if (f.name !== undefined) add((p) => `nt.name = ${p}`, f.name);
    if (f.version !== undefined) add((p) => `nt.version = ${p}`, f.version);
    if (f.tag !== undefined) add((p) => `${p} = ANY (${t}.tags)`, f.tag);
    if (f.parentTaskId !== undefined) add((p) => `${t}.parent_task_id = ${p}`, f.parentTaskId);
    if (f.createdAfter !== undefined) add((p) => `${t}.created_at >= ${p}`, f.createdAfter);
    if (f.createdBefore !== undefined) add((p) => `${t}.created_at < ${p}`, f.createdBefore);
    if (cursor !== undefined) add((p) => `${t}.id ${desc ? '<' : '>'} ${p}`, cursor);
    params.push(limit + 1);
    const limitParam = `$${params.length}`;
    const order = (alias: string) => `ORDER BY ${alias}.id ${desc ? 'DESC' : 'ASC'} LIMIT ${limitParam}`;
    let text: string;
    if (source === 'archive') {
      if (only !== null) add((p) => `a.state = ANY (${p}::text[])`, only);
      text = `SELECT ${archivedTaskColumns(sql.schema)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${order('a')}`;
    } else if (only === null) {
      text = `SELECT ${taskColumns(sql.schema)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${order('t')}`;
    } else {
      // One range of the (state, id) index per state, each read in id order and cut at the page size,
      // then merged.
      params.push(only);
      const conditions = ['t.state = wanted.state', ...where].join(' AND ');
      text = `SELECT page.* FROM (SELECT DISTINCT unnest($${params.length}::text[]) AS state) AS wanted
        CROSS JOIN LATERAL (SELECT ${taskColumns(sql.schema)} WHERE ${conditions} ${order('t')}) AS page
        ${order('page')}`;
    }
    const { rows } = await sql.db.query<Row>(text, params);
    return rows;
  };

  const [live, archived] = await Promise.all([page('live', states.live), page('archive', states.archive)]);
  const rows =
    archived.length === 0 ? live : [...live, ...archived].sort((a, b) => (desc ? b.id - a.id : a.id - b.id));
  const tasks = rows.slice(0, limit).map(toTask);
  const last = tasks[tasks.length - 1];
  return {
    tasks,
    nextCursor:
      rows.length > limit && last ? Buffer.from(String(last.id), 'utf8').toString('base64url') : null,
  };
}
