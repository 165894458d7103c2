// Decision steps and deferred convergence: a decision runs the children it names and skips the others
// with what only they lead to (each skip recorded with its reason); a join below runs on the parents
// that ran and sees only their results; a wrong answer fails the decision naming the allowed steps; and,
// over random DAGs (fast-check), exactly the chosen sub-DAG runs.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { defineTask, type StepDefinition } from '../../src/index.js';
import { mapTemplate } from '../../src/templates/map-template.js';
import { BACKENDS, testTasker } from '../helpers.js';

describe.each(BACKENDS)('decision steps on %s', (backend) => {
  test('the chosen branch runs, the other is skipped with its reason, the join sees only what ran', async () => {
    const { tasker } = await testTasker(backend);
    const ran: string[] = [];
    const step = (name: string, extra: Partial<StepDefinition> = {}): StepDefinition => ({
      name,
      handler: ({ parents }) => {
        ran.push(name);
        return { from: name, parents: Object.keys(parents).sort() };
      },
      ...extra,
    });
    tasker.register(
      defineTask({
        name: 'refund',
        steps: [
          {
            name: 'route',
            kind: 'decision',
            handler: ({ context }) => ({
              activate: Number(context.amount) > 100 ? ['manual_review'] : ['auto_approve'],
            }),
          },
          step('auto_approve', { dependsOn: ['route'] }),
          step('manual_review', { dependsOn: ['route'] }),
          step('review_followup', { dependsOn: ['manual_review'] }),
          step('pay', { dependsOn: ['auto_approve', 'review_followup'] }),
        ],
      }),
    );
    await tasker.startWorker();
    const small = await tasker.createTask({ name: 'refund', context: { amount: 20 } });
    const done = await tasker.waitForTask(small.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('complete');
    const byName = new Map(done.steps.map((s) => [s.name, s]));
    expect(byName.get('auto_approve')!.state).toBe('complete');
    expect(byName.get('manual_review')!.state).toBe('skipped');
    expect(byName.get('review_followup')!.state).toBe('skipped');
    // The join ran once, seeing only the parent that ran.
    expect(byName.get('pay')!.results).toEqual({ from: 'pay', parents: ['auto_approve'] });
    expect(ran.filter((n) => n === 'pay')).toHaveLength(1);

    const trail = await tasker.getStepTransitions(byName.get('manual_review')!.id);
    expect(trail.at(-1)).toMatchObject({ fromState: 'pending', toState: 'skipped' });
    expect(trail.at(-1)!.metadata).toMatchObject({ reason: 'not chosen by decision step route' });
    const below = await tasker.getStepTransitions(byName.get('review_followup')!.id);
    expect(below.at(-1)!.metadata).toMatchObject({
      reason: 'every step it depends on was skipped by a decision',
    });

    const big = await tasker.createTask({ name: 'refund', context: { amount: 500 } });
    const other = await tasker.waitForTask(big.id, { timeoutMs: 15_000 });
    expect(other.state).toBe('complete');
    const names = new Map(other.steps.map((s) => [s.name, s.state]));
    expect(names.get('auto_approve')).toBe('skipped');
    expect(names.get('review_followup')).toBe('complete');
    expect(other.steps.find((s) => s.name === 'pay')!.results).toEqual({
      from: 'pay',
      parents: ['review_followup'],
    });
  });

  test('choosing nothing finishes the task; a name that is not a child fails the decision naming the allowed ones', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'maybe',
        steps: [
          { name: 'decide', kind: 'decision', handler: ({ context }) => ({ activate: context.activate }) },
          { name: 'a', dependsOn: ['decide'], handler: () => 1 },
          { name: 'b', dependsOn: ['a'], handler: () => 2 },
        ],
      }),
    );
    await tasker.startWorker();
    const none = await tasker.createTask({ name: 'maybe', context: { activate: [] } });
    const finished = await tasker.waitForTask(none.id, { timeoutMs: 15_000 });
    expect(finished.state).toBe('complete');
    expect(finished.steps.map((s) => s.state)).toEqual(['complete', 'skipped', 'skipped']);

    const typo = await tasker.createTask({ name: 'maybe', context: { activate: ['A'] } });
    const failed = await tasker.waitForTask(typo.id, { timeoutMs: 15_000 });
    expect(failed.state).toBe('error');
    const decide = failed.steps.find((s) => s.name === 'decide')!;
    expect(decide.state).toBe('error');
    expect(decide.attempts).toBe(1); // permanent: no retry
    expect(decide.lastError?.message).toBe(
      'decision step "decide" activated "A", which is not among the steps that depend on it: "a"',
    );
  });

  test('YAML: kind: decision, and the same check of a decision without steps below it', () => {
    const mapped = mapTemplate(
      {
        name: 'route_refund',
        step_templates: [
          { name: 'route', handler: 'route', kind: 'decision' },
          { name: 'auto', handler: 'auto', depends_on_step: 'route' },
        ],
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition!.steps[0]).toMatchObject({ name: 'route', kind: 'decision' });
    const lonely = mapTemplate(
      { name: 'x', step_templates: [{ name: 'd', handler: 'd', kind: 'decision' }] },
      'test',
    );
    expect(lonely.problems).toEqual([
      {
        path: 'step_templates[0] (d).kind',
        message: 'decision step "d" has no steps that depend on it: it chooses among those',
      },
    ]);
  });

  test('a decision without steps below it is refused when defined', () => {
    expect(() =>
      defineTask({
        name: 'lonely',
        steps: [{ name: 'd', kind: 'decision', handler: () => ({ activate: [] }) }],
      }),
    ).toThrow(/steps\[0\]\.kind: decision step "d" has no steps that depend on it/);
  });
});

/** What should happen, by the rules: a decision skips the children it did not choose; a step whose
 * parents were all skipped that way is skipped; every other step runs. */
function expected(parents: number[][], decisions: Map<number, number[]>): boolean[] {
  const runs: boolean[] = [];
  for (let i = 0; i < parents.length; i++) {
    const ps = parents[i]!;
    const leftOut = ps.some((p) => runs[p] && decisions.has(p) && !decisions.get(p)!.includes(i));
    const allSkipped = ps.length > 0 && ps.every((p) => !runs[p]);
    runs.push(!leftOut && !allSkipped);
  }
  return runs;
}

describe('decision steps over random DAGs (pglite)', () => {
  test('exactly the chosen sub-DAG runs; every other step is skipped with a reason', async () => {
    const { tasker } = await testTasker('pglite');
    let version = 0;
    const dag = fc
      .integer({ min: 2, max: 7 })
      .chain((n) =>
        fc.tuple(
          fc.tuple(
            ...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j))),
          ),
          fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
        ),
      );
    await fc.assert(
      fc.asyncProperty(dag, async ([parents, decides, picks]) => {
        const n = parents.length;
        const children = (i: number) => parents.flatMap((ps, c) => (ps.includes(i) ? [c] : []));
        const decisions = new Map<number, number[]>();
        for (let i = 0; i < n; i++) {
          if (decides[i] && children(i).length > 0)
            decisions.set(
              i,
              children(i).filter((c) => picks[i]![c]),
            );
        }
        const name = (i: number) => `s${i}`;
        const template = defineTask({
          name: 'random',
          version: `1.0.${version++}`,
          steps: parents.map((ps, i) => ({
            name: name(i),
            dependsOn: ps.map(name),
            ...(decisions.has(i) ? { kind: 'decision' as const } : {}),
            handler: () => (decisions.has(i) ? { activate: decisions.get(i)!.map(name) } : i),
          })),
        });
        tasker.register(template);
        // A worker serves the templates registered when it starts: one per template here.
        const worker = await tasker.startWorker();
        const created = await tasker.createTask({ name: 'random', version: template.version });
        const task = await tasker.waitForTask(created.id, { timeoutMs: 15_000 });
        await worker.stop();
        expect(task.state).toBe('complete');
        const want = expected(parents, decisions);
        expect(task.steps.map((s) => s.state)).toEqual(want.map((r) => (r ? 'complete' : 'skipped')));
        for (const s of task.steps.filter((x) => x.state === 'skipped')) {
          const trail = await tasker.getStepTransitions(s.id);
          expect(String((trail.at(-1)!.metadata as { reason?: string }).reason)).toMatch(/decision/);
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
