/**
 * Section f: database round trips and rows written per step. Each shape is created first (bulk) and
 * then drained, on a fresh schema. Round trips are counted by a wrapper around the engine's Database
 * (creation and running separately); rows are the schema's pg_stat_user_tables counters (n_tup_ins,
 * n_tup_upd, n_tup_del), read before creation and after the run, once the engine's connections have
 * ended so that the server has flushed their counters.
 */
import type { RowCounts } from '../backend.js';
import { type BenchSection, type Metric, metric, type SectionContext } from '../section.js';
import { runWorkload } from './run-workload.js';
import type { Shape } from './tracker.js';

interface ShapeCost {
  readonly tasks: number;
  readonly steps: number;
  readonly stepRuns: number;
  readonly createRoundTrips: number;
  readonly runRoundTrips: number;
  readonly runRoundTripsByKind: Record<string, number>;
  readonly rows: { inserted: number; updated: number; deleted: number };
  readonly rowsByTable: RowCounts['byTable'];
}

function diff(after: RowCounts, before: RowCounts): ShapeCost['rows'] & { byTable: RowCounts['byTable'] } {
  const byTable: Record<string, { inserted: number; updated: number; deleted: number }> = {};
  for (const [table, a] of Object.entries(after.byTable)) {
    const b = before.byTable[table] ?? { inserted: 0, updated: 0, deleted: 0 };
    const d = {
      inserted: a.inserted - b.inserted,
      updated: a.updated - b.updated,
      deleted: a.deleted - b.deleted,
    };
    if (d.inserted || d.updated || d.deleted) byTable[table] = d;
  }
  return {
    inserted: after.inserted - before.inserted,
    updated: after.updated - before.updated,
    deleted: after.deleted - before.deleted,
    byTable,
  };
}

async function measure(ctx: SectionContext, shape: Shape, tasks: number): Promise<ShapeCost> {
  // First connection: migrate, then end it so that its counters are flushed before the baseline.
  const setup = await ctx.backend.openRun({ keepSchema: true });
  let before: RowCounts;
  try {
    const tasker = await setup.openTasker();
    await tasker.close();
    before = await setup.closeEngineAndReadRows();
  } finally {
    await setup.dispose();
  }
  const env = await ctx.backend.openRun({ schema: setup.schema });
  try {
    ctx.log(`cost: ${shape}, ${tasks} tasks`);
    const r = await runWorkload(env, {
      shape,
      mode: 'predrain',
      tasks,
      concurrency: ctx.concurrency,
      workers: ctx.workers,
      timeoutMs: ctx.timeoutMs,
    });
    const after = await env.closeEngineAndReadRows();
    const rows = diff(after, before);
    const { transactionControl, ...byKind } = r.roundTrips;
    return {
      tasks: r.tasks,
      steps: r.steps,
      stepRuns: r.stepRuns,
      createRoundTrips: r.preRoundTrips ?? 0,
      runRoundTrips: r.roundTripTotal,
      runRoundTripsByKind: { ...byKind, transactionControl },
      rows: { inserted: rows.inserted, updated: rows.updated, deleted: rows.deleted },
      rowsByTable: rows.byTable,
    };
  } finally {
    await env.dispose();
  }
}

export const costSection: BenchSection = {
  key: 'f',
  title: 'database cost per step',
  description:
    'round trips (counted at the Database interface) and rows written (pg_stat_user_tables deltas) per step, for single-step tasks, chains and diamonds created in bulk then drained',
  async run(ctx) {
    const shapes: Array<[Shape, number]> = [
      ['single', ctx.scaled(4_000, 10)],
      ['chain3', ctx.scaled(1_000, 4)],
      ['diamond', ctx.scaled(1_000, 4)],
    ];
    const metrics: Metric[] = [];
    const details: Record<string, ShapeCost> = {};
    for (const [shape, tasks] of shapes) {
      const c = await measure(ctx, shape, tasks);
      details[shape] = c;
      const per = (x: number) => x / c.steps;
      metrics.push(
        metric(
          `cost.${shape}.run_round_trips_per_step`,
          `${shape}: round trips per step, running`,
          'rt/step',
          per(c.runRoundTrips),
          'lower',
        ),
        metric(
          `cost.${shape}.create_round_trips_per_step`,
          `${shape}: round trips per step, bulk creation`,
          'rt/step',
          per(c.createRoundTrips),
          'lower',
        ),
        metric(
          `cost.${shape}.rows_inserted_per_step`,
          `${shape}: rows inserted per step`,
          'rows/step',
          per(c.rows.inserted),
          'lower',
        ),
        metric(
          `cost.${shape}.rows_updated_per_step`,
          `${shape}: rows updated per step`,
          'rows/step',
          per(c.rows.updated),
          'lower',
        ),
        metric(
          `cost.${shape}.rows_written_per_step`,
          `${shape}: rows written per step (ins+upd+del)`,
          'rows/step',
          per(c.rows.inserted + c.rows.updated + c.rows.deleted),
          'lower',
        ),
      );
    }
    return { metrics, details };
  },
};
