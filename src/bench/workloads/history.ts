/**
 * Finished-task history for the claim-cost comparison (part e), made fast: one real single-step task is
 * run to completion, then its rows (task, step, task and step transitions) are cloned `count` times with
 * generate_series. The clones are therefore exactly what finished tasks look like, whatever columns the
 * schema has, without running a million tasks through the engine.
 */
import { type Database, quoteIdent, quoteLiteral } from '../../db/database.js';
import type { RunEnv } from '../backend.js';
import { BenchError } from '../errors.js';
import { benchTemplate } from './templates.js';
import { Tracker } from './tracker.js';

/** Cloned per statement: big enough to be fast, small enough to show progress and bound memory. */
const CHUNK = 100_000;

interface CloneSpec {
  readonly table: string;
  /** Column rewritten to `base + g`, with g = 1..count. */
  readonly rewrite: Readonly<Record<string, 'task' | 'step'>>;
  readonly where: string;
}

async function columns(db: Database, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = ${quoteLiteral(schema)} AND table_name = ${quoteLiteral(table)}
        AND is_generated = 'NEVER' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/** Creates `count` finished single-step tasks in the run's schema; returns how many exist afterwards. */
export async function generateHistory(
  env: RunEnv,
  count: number,
  log: (message: string) => void,
): Promise<{ tasks: number; seconds: number }> {
  const started = performance.now();
  const tracker = new Tracker('single');
  const tasker = await env.openTasker();
  let taskId: number;
  try {
    const template = tasker.register(benchTemplate('single', tracker));
    const created = await tasker.createTask({
      namespace: template.namespace,
      name: template.name,
      context: { i: 0 },
    });
    taskId = created.id;
    const worker = await tasker.startWorker({ concurrency: 1 });
    const done = await tasker.waitForTask(taskId, { timeoutMs: 60_000 });
    await worker.stop();
    if (done.state !== 'complete') {
      throw new BenchError('BENCH_TASK_FAILED', `the model task for the history ended ${done.state}`);
    }
  } finally {
    await tasker.close();
  }

  const db = env.admin;
  const s = quoteIdent(env.schema);
  const stepRow = await db.query<{ id: number }>(`SELECT id FROM ${s}.steps WHERE task_id = $1`, [taskId]);
  const stepId = stepRow.rows[0]?.id;
  if (stepId === undefined) throw new BenchError('BENCH_TASK_FAILED', 'the model task has no step');
  const max = async (table: string) =>
    Number(
      (await db.query<{ m: number }>(`SELECT coalesce(max(id), 0)::int8 AS m FROM ${s}.${table}`)).rows[0]!.m,
    );
  // Ids above everything that exists, leaving a gap; the identity sequences are moved past them below.
  const taskBase = (await max('tasks')) + 1000;
  const stepBase = (await max('steps')) + 1000;

  const specs: CloneSpec[] = [
    { table: 'tasks', rewrite: { id: 'task' }, where: `id = ${taskId}` },
    { table: 'steps', rewrite: { id: 'step', task_id: 'task' }, where: `id = ${stepId}` },
    { table: 'task_transitions', rewrite: { task_id: 'task' }, where: `task_id = ${taskId}` },
    { table: 'step_transitions', rewrite: { step_id: 'step' }, where: `step_id = ${stepId}` },
  ];
  const statements: Array<{ table: string; sql: string }> = [];
  for (const spec of specs) {
    const cols = await columns(db, env.schema, spec.table);
    const select = cols.map((c) => {
      const kind = spec.rewrite[c];
      // The bases are integers computed above, so they are written into the text.
      if (kind === 'task') return `(${taskBase}::int8 + g)`;
      if (kind === 'step') return `(${stepBase}::int8 + g)`;
      return quoteIdent(c);
    });
    statements.push({
      table: spec.table,
      sql: `INSERT INTO ${s}.${spec.table} (${cols.map(quoteIdent).join(', ')})
            SELECT ${select.join(', ')} FROM ${s}.${spec.table} src, generate_series($1::int8, $2::int8) g
             WHERE src.${spec.where}`,
    });
  }
  for (let from = 1; from <= count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK - 1);
    await db.transaction(async (tx) => {
      for (const st of statements) await tx.query(st.sql, [from, to]);
    });
    log(`history: ${to.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} finished tasks`);
  }
  for (const table of ['tasks', 'steps']) {
    await db.query(
      `SELECT setval(pg_get_serial_sequence(${quoteLiteral(`${s}.${table}`)}, 'id'), (SELECT max(id) FROM ${s}.${table}))`,
    );
  }
  await db.exec(`ANALYZE ${specs.map((spec) => `${s}.${spec.table}`).join(', ')}`);
  const total = Number(
    (await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${s}.tasks WHERE state = 'complete'`))
      .rows[0]!.n,
  );
  return { tasks: total, seconds: (performance.now() - started) / 1000 };
}
