/**
 * The built-in handler of `sleep` and `signal` steps (docs/workflows.md#durable-waits). The claim ends a
 * wait (migration 21) and leaves what ended it in the step's inputs: the signal's payload, the time slept,
 * or a timeout, which fails the step (retried when the template says so).
 */

import type { StepHandler } from '../definitions/types.js';
import { PermanentError, RetryableError } from '../errors.js';

interface WaitInputs {
  readonly signal?: string;
  readonly payload?: unknown;
  readonly signal_id?: number;
  readonly timed_out?: boolean;
  readonly timeout_ms?: number;
  readonly retryable?: boolean;
  readonly slept_until?: string;
}

export function createWaitHandler(): StepHandler<never> {
  const handler: StepHandler = ({ inputs }) => {
    const given = (inputs ?? {}) as WaitInputs;
    if (given.timed_out) {
      const message = `signal "${given.signal}" did not arrive within ${given.timeout_ms} ms`;
      const options = {
        code: 'WAIT_TIMEOUT',
        context: { signal: given.signal, timeoutMs: given.timeout_ms },
      };
      throw given.retryable ? new RetryableError(message, options) : new PermanentError(message, options);
    }
    if (given.signal !== undefined) {
      return { signal: given.signal, payload: given.payload ?? null, signalId: given.signal_id ?? null };
    }
    return { sleptUntil: given.slept_until ?? null };
  };
  return handler as StepHandler<never>;
}
