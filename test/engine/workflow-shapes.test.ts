import { beforeAll, describe, expect, test } from 'vitest';
import { defineTask } from '../../src/index.js';
import { BACKENDS, pgliteForFile, testTasker } from '../helpers.js';
import { createRecorder, stepsOf } from './recorder.js';

// The workflow shapes of the original's tests (reference section 11), with the groups of steps that
// become ready together and must therefore run at the same time.
const SHAPES: Record<string, { steps: Record<string, string[]>; parallel: string[][] }> = {
  linear: {
    steps: {
      initialize_data: [],
      validate_input: ['initialize_data'],
      process_data: ['validate_input'],
      transform_results: ['process_data'],
      validate_output: ['transform_results'],
      finalize_workflow: ['validate_output'],
    },
    parallel: [],
  },
  diamond: {
    steps: {
      start_workflow: [],
      branch_one_process: ['start_workflow'],
      branch_two_process: ['start_workflow'],
      branch_one_validate: ['branch_one_process'],
      branch_two_validate: ['branch_two_process'],
      merge_branches: ['branch_one_validate', 'branch_two_validate'],
      end_workflow: ['merge_branches'],
    },
    parallel: [['branch_one_process', 'branch_two_process']],
  },
  parallel_merge: {
    steps: {
      fetch_user_data: [],
      fetch_order_data: [],
      fetch_inventory_data: [],
      fetch_pricing_data: [],
      process_user_data: ['fetch_user_data'],
      process_order_data: ['fetch_order_data'],
      merge_all_data: [
        'process_user_data',
        'process_order_data',
        'fetch_inventory_data',
        'fetch_pricing_data',
      ],
    },
    parallel: [['fetch_user_data', 'fetch_order_data', 'fetch_inventory_data', 'fetch_pricing_data']],
  },
  tree: {
    steps: {
      root: [],
      branch_a_setup: ['root'],
      branch_b_setup: ['root'],
      branch_a_task_1: ['branch_a_setup'],
      branch_a_task_2: ['branch_a_setup'],
      branch_b_task_1: ['branch_b_setup'],
      branch_b_task_2: ['branch_b_setup'],
      aggregate_results: ['branch_a_task_1', 'branch_a_task_2', 'branch_b_task_1', 'branch_b_task_2'],
    },
    parallel: [['branch_a_setup', 'branch_b_setup']],
  },
  mixed: {
    steps: {
      init_auth: [],
      init_config: [],
      validate_permissions: ['init_auth'],
      setup_environment: ['init_config'],
      begin_processing: ['validate_permissions', 'setup_environment'],
      process_critical_data: ['begin_processing'],
      process_optional_data: ['begin_processing'],
      cleanup_temp_files: ['setup_environment'],
      finalize_and_report: ['process_critical_data', 'cleanup_temp_files'],
    },
    parallel: [['init_auth', 'init_config']],
  },
};

// Start this file's embedded database before the first test: on a busy machine its start-up alone can
// take most of a test's time budget.
beforeAll(async () => {
  if (BACKENDS.includes('pglite')) await pgliteForFile();
}, 180_000);

describe.each(BACKENDS)('workflow shapes on %s', (backend) => {
  test.each(Object.keys(SHAPES))(
    '%s: every step runs once, after all its parents, siblings in parallel',
    async (shapeName) => {
      const shape = SHAPES[shapeName]!;
      const { tasker } = await testTasker(backend);
      const recorder = createRecorder({ barriers: shape.parallel });
      tasker.register(
        defineTask({ namespace: 'shapes', name: shapeName, steps: stepsOf(shape.steps, recorder) }),
      );
      await tasker.startWorker({ concurrency: 8 });

      const created = await tasker.createTask({
        namespace: 'shapes',
        name: shapeName,
        context: { shape: shapeName },
      });
      const done = await tasker.waitForTask(created.id, { timeoutMs: 30_000 });

      expect(done.state).toBe('complete');
      for (const step of done.steps) {
        expect(step.state).toBe('complete');
        expect(step.attempts).toBe(1);
        const parents = shape.steps[step.name]!;
        expect(step.results).toEqual({ step: step.name, parents: [...parents].sort() });
        // Edges as numeric ids on both backends (int8[] parsed, not left as strings).
        const idOf = (name: string) => done.steps.find((s) => s.name === name)!.id;
        expect([...step.parentIds].sort()).toEqual(parents.map(idOf).sort());
        // Each step started once, and only after every parent ended.
        expect(recorder.log.filter((e) => e === `start:${step.name}`)).toHaveLength(1);
        for (const parent of parents) {
          expect(recorder.at(`start:${step.name}`)).toBeGreaterThan(recorder.at(`end:${parent}`));
        }
      }
      // The task's audit trail: started, then complete; each step: pending -> in_progress -> complete.
      const own = await tasker.getTaskTransitions(created.id);
      expect(own.map((t) => `${t.fromState}>${t.toState}`)).toEqual([
        'pending>in_progress',
        'in_progress>complete',
      ]);
      expect(own.at(-1)!.mostRecent).toBe(true);
      const trail = await tasker.getAuditTrail(created.id);
      const stepRows = trail.filter((t) => 'stepId' in t);
      expect(stepRows).toHaveLength(done.steps.length * 2);
      for (const step of done.steps) {
        expect(stepRows.filter((t) => 'stepId' in t && t.stepId === step.id).map((t) => t.toState)).toEqual([
          'in_progress',
          'complete',
        ]);
      }
    },
  );
});
