/**
 * How a step's state reads to a person, derived in one place for every surface (API, dashboard, CLI):
 * the state itself, except where it alone misleads. A pending step below a step that failed for good
 * waits for nothing that will happen: it is shown as `blocked`, "blocked by a failed step".
 */
import type { StepState } from './states.js';

export type StepDisplayState = StepState | 'blocked';

const LABELS: Readonly<Record<StepDisplayState, string>> = {
  pending: 'pending',
  in_progress: 'in progress',
  waiting_for_retry: 'waiting for retry',
  complete: 'complete',
  error: 'error',
  cancelled: 'cancelled',
  resolved_manually: 'resolved manually',
  skipped: 'skipped',
  blocked: 'blocked by a failed step',
};

export function stepDisplayState(step: {
  readonly state: StepState;
  readonly blocked: boolean;
}): StepDisplayState {
  return step.state === 'pending' && step.blocked ? 'blocked' : step.state;
}

export function stepStateLabel(step: { readonly state: StepState; readonly blocked: boolean }): string {
  return LABELS[stepDisplayState(step)];
}
