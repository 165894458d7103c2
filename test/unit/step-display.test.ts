import { describe, expect, it } from 'vitest';
import { STEP_STATES } from '../../src/model/states.js';
import { stepDisplayState, stepStateLabel } from '../../src/model/step-display.js';

describe('how a step state reads', () => {
  it('shows a pending step below a failed step as blocked, in the same words as the CLI', () => {
    expect(stepDisplayState({ state: 'pending', blocked: true })).toBe('blocked');
    expect(stepStateLabel({ state: 'pending', blocked: true })).toBe('blocked by a failed step');
    expect(stepDisplayState({ state: 'pending', blocked: false })).toBe('pending');
  });

  it('keeps every other state, in words', () => {
    for (const state of STEP_STATES) {
      if (state !== 'pending') expect(stepDisplayState({ state, blocked: false })).toBe(state);
      expect(stepStateLabel({ state, blocked: false })).toBe(state.replaceAll('_', ' '));
    }
  });
});
