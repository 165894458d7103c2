/**
 * The state machines exist twice: as TypeScript tables (src/model/states.ts) and in the schema (the
 * CHECK constraints on the audit tables, which refuse any other transition, and the
 * *_state_transitions tables the operations consult). Every (from, to) pair is tried against the
 * constraints of a scratch schema and compared with the TypeScript table.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { quoteIdent } from '../../src/db/database.js';
import { sqlState } from '../../src/db/sql-errors.js';
import {
  STEP_STATES,
  STEP_TRANSITIONS,
  TASK_STATES,
  TASK_TRANSITIONS,
  transitionPairs,
} from '../../src/model/states.js';
import { BACKENDS, pgliteForFile, testTasker } from '../helpers.js';

const key = ([from, to]: [string, string]) => `${from}>${to}`;

// Start this file's embedded database before the first test: on a busy machine its start-up alone can
// take most of a test's time budget.
beforeAll(async () => {
  if (BACKENDS.includes('pglite')) await pgliteForFile();
}, 180_000);

describe.each(BACKENDS)('SQL and TypeScript state machines agree (%s)', (backend) => {
  test('the audit tables accept exactly the transitions the TypeScript tables allow', async () => {
    const { db, schema } = await testTasker(backend);
    const s = quoteIdent(schema);
    const machines = [
      { table: 'task_transitions', idColumn: 'task_id', states: TASK_STATES, machine: TASK_TRANSITIONS },
      { table: 'step_transitions', idColumn: 'step_id', states: STEP_STATES, machine: STEP_TRANSITIONS },
    ] as const;
    for (const { table, idColumn, states, machine } of machines) {
      const accepted: string[] = [];
      let id = 0;
      // Every ordered pair, including a state to itself (never allowed).
      for (const from of states) {
        for (const to of states) {
          id++;
          try {
            await db.query(
              `INSERT INTO ${s}.${table} (${idColumn}, sort_key, from_state, to_state) VALUES ($1, 1, $2, $3)`,
              [id, from, to],
            );
            accepted.push(`${from}>${to}`);
          } catch (error) {
            expect(sqlState(error), `${table} ${from}>${to}`).toBe('23514'); // check_violation
          }
        }
      }
      const allowed = transitionPairs(machine).map(key);
      expect(accepted.sort(), table).toEqual([...allowed].sort());
    }
  });

  test('an audit row without a from state, or with an unknown state, is refused', async () => {
    const { db, schema } = await testTasker(backend);
    const s = quoteIdent(schema);
    for (const [from, to] of [
      [null, 'complete'],
      [null, 'pending'],
      ['pending', 'exploded'],
    ] as const) {
      const error = await db
        .query(
          `INSERT INTO ${s}.step_transitions (step_id, sort_key, from_state, to_state) VALUES (1, 1, $1, $2)`,
          [from, to],
        )
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(sqlState(error), `${from}>${to}`).toMatch(/^23/); // an integrity constraint
    }
  });

  test('the transition tables the SQL operations consult hold the same pairs and event names', async () => {
    const { db, schema } = await testTasker(backend);
    const s = quoteIdent(schema);
    for (const [table, machine] of [
      ['task_state_transitions', TASK_TRANSITIONS],
      ['step_state_transitions', STEP_TRANSITIONS],
    ] as const) {
      const { rows } = await db.query<{ from_state: string; to_state: string; event_name: string }>(
        `SELECT from_state, to_state, event_name FROM ${s}.${table} ORDER BY from_state, to_state`,
      );
      const sqlTable = Object.fromEntries(rows.map((r) => [`${r.from_state}>${r.to_state}`, r.event_name]));
      const tsTable = Object.fromEntries(
        transitionPairs(machine).map(([from, to]) => [
          `${from}>${to}`,
          (machine as Record<string, Record<string, string>>)[from]![to],
        ]),
      );
      expect(sqlTable, table).toEqual(tsTable);
    }
  });
});
