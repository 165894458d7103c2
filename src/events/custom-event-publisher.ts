/**
 * `ctx.publish(name, payload)` for handlers. A published event is held until the attempt's outcome is
 * recorded, then delivered (after the step.completed or step.failed event of that attempt), so
 * subscribers only hear of work that was committed; an attempt whose outcome is not recorded (lease lost,
 * worker stopped) drops its events.
 */
import type { TemplateStep } from '../definitions/types.js';
import { TaskerError } from '../errors.js';
import type { StepRunInfo } from '../model/step-run.js';
import type { CustomEventPayload } from './catalog.js';
import type { TaskerEventBus } from './tasker-events.js';

/** Which attempt published an event. */
export type AttemptIdentity = Omit<StepRunInfo, 'traceparent'>;

export interface CustomEventPublisher {
  /** The `publish` function of one attempt's step context. */
  publisherFor(
    attempt: AttemptIdentity,
    step: TemplateStep,
  ): (name: string, payload?: Record<string, unknown>) => void;
  /** Forgets what an attempt published (its outcome will not be recorded). */
  discard(stepId: number, attempt: number): void;
  /** Starts delivering on recorded outcomes; returns the function that stops. */
  attach(): () => void;
}

const key = (stepId: number, attempt: number) => `${stepId}:${attempt}`;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function createCustomEventPublisher(events: TaskerEventBus): CustomEventPublisher {
  const held = new Map<string, Array<{ name: string; payload: CustomEventPayload }>>();
  const flush = (e: { stepId: number; attempt: number }) => {
    const k = key(e.stepId, e.attempt);
    const list = held.get(k);
    if (!list) return;
    held.delete(k);
    for (const { name, payload } of list) events.emit(name, { ...payload });
  };
  return {
    publisherFor(attempt, step) {
      const declared = new Set(step.customEvents.map((e) => e.name));
      return (name, payload = {}) => {
        if (!declared.has(name)) {
          throw new TaskerError(
            'TASKER_INVALID_REQUEST',
            `step "${step.name}" published "${name}", which it does not declare in customEvents` +
              (declared.size > 0 ? ` (declared: ${[...declared].join(', ')})` : ' (it declares none)'),
          );
        }
        if (!isPlainObject(payload)) {
          throw new TaskerError('TASKER_INVALID_REQUEST', `the payload of "${name}" must be a plain object`);
        }
        let copy: Record<string, unknown>;
        try {
          copy = JSON.parse(JSON.stringify(payload));
        } catch (error) {
          throw new TaskerError(
            'TASKER_INVALID_REQUEST',
            `the payload of "${name}" must be JSON-serializable: ${(error as Error).message}`,
          );
        }
        const k = key(attempt.stepId, attempt.attempt);
        let list = held.get(k);
        if (!list) {
          list = [];
          held.set(k, list);
        }
        list.push({ name, payload: { ...attempt, payload: Object.freeze(copy) } });
      };
    },
    discard(stepId, attempt) {
      held.delete(key(stepId, attempt));
    },
    attach() {
      const offs = [
        events.on('step.completed', flush),
        events.on('step.failed', flush),
        events.on('step.outcome_refused', (e) => held.delete(key(e.stepId, e.attempt))),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
  };
}
