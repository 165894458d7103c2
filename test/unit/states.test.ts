import { describe, expect, test } from 'vitest';
import {
  assertStepTransition,
  assertTaskTransition,
  canTransitionStep,
  canTransitionTask,
  STEP_STATES,
  STEP_TRANSITIONS,
  TASK_STATES,
  TASK_TRANSITIONS,
  transitionPairs,
} from '../../src/model/states.js';

describe('task state machine', () => {
  test('allows the transitions of the original', () => {
    expect(canTransitionTask('pending', 'in_progress')).toBe(true);
    expect(canTransitionTask('in_progress', 'complete')).toBe(true);
    expect(canTransitionTask('in_progress', 'error')).toBe(true);
    expect(canTransitionTask('error', 'pending')).toBe(true);
    expect(canTransitionTask('error', 'resolved_manually')).toBe(true);
  });

  test('keeps a finished run as history: complete and resolved tasks cannot be cancelled', () => {
    expect(canTransitionTask('complete', 'cancelled')).toBe(false);
    expect(canTransitionTask('resolved_manually', 'cancelled')).toBe(false);
  });

  test('refuses a transition to the same state and any move out of cancelled', () => {
    for (const state of TASK_STATES) expect(canTransitionTask(state, state)).toBe(false);
    for (const state of TASK_STATES) expect(canTransitionTask('cancelled', state)).toBe(false);
  });

  test('refuses completing a pending task without starting it', () => {
    expect(canTransitionTask('pending', 'complete')).toBe(false);
    expect(() => assertTaskTransition(7, 'pending', 'complete')).toThrow(
      /task 7 cannot go from pending to complete/,
    );
  });
});

describe('step state machine', () => {
  test('a failed attempt waits for retry, then runs again', () => {
    expect(canTransitionStep('in_progress', 'waiting_for_retry')).toBe(true);
    expect(canTransitionStep('waiting_for_retry', 'in_progress')).toBe(true);
  });

  test('done states are final', () => {
    for (const done of ['complete', 'cancelled', 'resolved_manually', 'skipped'] as const) {
      for (const to of STEP_STATES) expect(canTransitionStep(done, to)).toBe(false);
    }
  });

  test('a running step cannot be resolved by hand', () => {
    expect(() => assertStepTransition(3, 'in_progress', 'resolved_manually')).toThrow(
      expect.objectContaining({ code: 'TASKER_ILLEGAL_TRANSITION' }),
    );
  });

  test('every transition names an event', () => {
    for (const [from, to] of transitionPairs(STEP_TRANSITIONS)) {
      expect(
        STEP_TRANSITIONS[from as keyof typeof STEP_TRANSITIONS][to as keyof typeof STEP_TRANSITIONS],
      ).toMatch(/^step\./);
    }
    for (const [from, to] of transitionPairs(TASK_TRANSITIONS)) {
      expect(
        TASK_TRANSITIONS[from as keyof typeof TASK_TRANSITIONS][to as keyof typeof TASK_TRANSITIONS],
      ).toMatch(/^task\./);
    }
  });
});
