// Finished tasks for the retention and archive tests: run some to the end, pretend they finished days
// ago, and count what is left of them in a table.
import { quoteIdent } from '../../src/db/database.js';
import type { TestTasker } from '../helpers.js';

export interface FinishedTasks {
  /** The test's schema, quoted. */
  readonly s: string;
  /** Creates `n` tasks of a registered template and waits for each to finish; returns their ids. */
  run(namespace: string, name: string, n: number): Promise<number[]>;
  /** Pretends the tasks finished `days` ago (tasks rows are not audit rows: they may be updated). */
  age(ids: readonly number[], days: number): Promise<unknown>;
  /** Rows of `table` whose `column` (default `id`) is one of `ids`. */
  count(table: string, ids: readonly number[], column?: string): Promise<number>;
}

export function finishedTasks(t: TestTasker): FinishedTasks {
  const s = quoteIdent(t.schema);
  return {
    s,
    async run(namespace, name, n) {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push((await t.tasker.createTask({ namespace, name })).id);
      for (const id of ids) await t.tasker.waitForTask(id, { timeoutMs: 30_000 });
      return ids;
    },
    age: (ids, days) =>
      t.db.query(
        `UPDATE ${s}.tasks SET completed_at = now() - make_interval(days => $1) WHERE id = ANY ($2)`,
        [days, ids],
      ),
    async count(table, ids, column = 'id') {
      const { rows } = await t.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${s}.${quoteIdent(table)} WHERE ${quoteIdent(column)} = ANY ($1)`,
        [ids],
      );
      return Number(rows[0]!.n);
    },
  };
}
