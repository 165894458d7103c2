/** Listing tasks with filters and keyset (cursor) pagination: a stable order that new tasks do not shift. */
import { TaskerError } from '../errors.js';
import { type ListTasksFilter, listTasksFilterSchema } from '../model/contracts.js';
import type { Task } from '../model/types.js';
import { parseOrThrow } from '../parse-or-throw.js';
import type { SqlContext } from './sql/sql-context.js';
import { taskColumns, toTask } from './sql/task-queries.js';

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

export async function listTasks(sql: SqlContext, filter: ListTasksFilter): Promise<TaskPage> {
  const f = parseOrThrow(listTasksFilterSchema, filter, 'task filter');
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (f.namespace !== undefined) add((p) => `ns.name = ${p}`, f.namespace);
  if (f.name !== undefined) add((p) => `nt.name = ${p}`, f.name);
  if (f.version !== undefined) add((p) => `nt.version = ${p}`, f.version);
  if (f.tag !== undefined) add((p) => `${p} = ANY (t.tags)`, f.tag);
  if (f.parentTaskId !== undefined) add((p) => `t.parent_task_id = ${p}`, f.parentTaskId);
  if (f.createdAfter !== undefined) add((p) => `t.created_at >= ${p}`, f.createdAfter);
  if (f.createdBefore !== undefined) add((p) => `t.created_at < ${p}`, f.createdBefore);
  const desc = (f.order ?? 'desc') === 'desc';
  if (f.cursor !== undefined) add((p) => `t.id ${desc ? '<' : '>'} ${p}`, decodeCursor(f.cursor));
  const limit = f.limit ?? 50;
  params.push(limit + 1);
  const limitParam = `$${params.length}`;
  const order = `ORDER BY t.id ${desc ? 'DESC' : 'ASC'} LIMIT ${limitParam}`;
  let text: string;
  if (f.state === undefined) {
    text = `SELECT ${taskColumns(sql.schema)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${order}`;
  } else {
    // One range of the (state, id) index per state, each read in id order and cut at the page size,
    // then merged: the cost is the page, not the history of finished tasks in front of it.
    params.push(Array.isArray(f.state) ? f.state : [f.state]);
    const conditions = ['t.state = wanted.state', ...where].join(' AND ');
    text = `SELECT page.* FROM (SELECT DISTINCT unnest($${params.length}::text[]) AS state) AS wanted
      CROSS JOIN LATERAL (SELECT ${taskColumns(sql.schema)} WHERE ${conditions} ${order}) AS page
      ORDER BY page.id ${desc ? 'DESC' : 'ASC'} LIMIT ${limitParam}`;
  }
  const { rows } = await sql.db.query<Parameters<typeof toTask>[0]>(text, params);
  const tasks = rows.slice(0, limit).map(toTask);
  const last = tasks[tasks.length - 1];
  return {
    tasks,
    nextCursor:
      rows.length > limit && last ? Buffer.from(String(last.id), 'utf8').toString('base64url') : null,
  };
}
