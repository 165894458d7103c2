/**
 * State changes of tasks and steps as the database announces them (the task and step NOTIFY channels of
 * migration 2), so that a change made by any process reaches every subscriber in every process.
 */
import type { StepState, TaskState } from '../model/states.js';
import type { NotificationHub } from './notifications.js';
import type { SqlContext } from './sql/sql-context.js';

export type StateChange =
  | { readonly kind: 'task'; readonly taskId: number; readonly state: TaskState }
  | { readonly kind: 'step'; readonly stepId: number; readonly taskId: number; readonly state: StepState };

export interface ChangeFeedHandlers {
  onChange(change: StateChange): void;
  /** The listening connection was re-established: changes may have been missed. */
  onGap?(): void;
}

function parseArray(payload: string): unknown[] {
  try {
    const value: unknown = JSON.parse(payload);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** Subscribes to task and step changes; resolves with an unsubscribe function once listening. */
export async function subscribeStateChanges(
  sql: SqlContext,
  notifications: NotificationHub,
  handlers: ChangeFeedHandlers,
): Promise<() => void> {
  const offTask = await notifications.subscribe(sql.channels.task, (payload) => {
    for (const item of parseArray(payload)) {
      if (Array.isArray(item) && typeof item[0] === 'number' && typeof item[1] === 'string') {
        handlers.onChange({ kind: 'task', taskId: item[0], state: item[1] as TaskState });
      }
    }
  });
  let offStep: () => void;
  try {
    offStep = await notifications.subscribe(sql.channels.step, (payload) => {
      for (const item of parseArray(payload)) {
        if (
          Array.isArray(item) &&
          typeof item[0] === 'number' &&
          typeof item[1] === 'number' &&
          typeof item[2] === 'string'
        ) {
          handlers.onChange({ kind: 'step', stepId: item[0], taskId: item[1], state: item[2] as StepState });
        }
      }
    });
  } catch (error) {
    offTask();
    throw error;
  }
  const offGap = handlers.onGap ? notifications.onReconnect(handlers.onGap) : () => {};
  return () => {
    offTask();
    offStep();
    offGap();
  };
}
