/**
 * The typed face of the event bus that `tasker.events` exposes: `on('step.failed', fn)` gives `fn` the
 * step.failed payload; wildcards (`'step.*'`, `'*'`) and custom event names give the union or a custom
 * payload. Subscriber failures are isolated by the underlying bus and reported to `onSubscriberError`
 * (the Tasker logs them and counts them in `tasker_event_subscriber_errors_total`).
 */

import type { CustomEventPayload, Delivered, SystemEventName, SystemEvents } from './catalog.js';
import { createEventBus, type EventBus, type EventListener } from './event-bus.js';

export type AnySystemEvent = { [K in SystemEventName]: Delivered<SystemEvents[K]> }[SystemEventName];

/** System events whose name starts with `prefix.` */
type EventsIn<Prefix extends string> = {
  [K in SystemEventName]: K extends `${Prefix}.${string}` ? Delivered<SystemEvents[K]> : never;
}[SystemEventName];

export interface TaskerEventBus extends EventBus {
  on<K extends SystemEventName>(
    name: K,
    listener: (payload: Delivered<SystemEvents[K]>, name: K) => unknown,
  ): () => void;
  on(pattern: 'task.*', listener: (payload: EventsIn<'task'>, name: string) => unknown): () => void;
  on(pattern: 'step.*', listener: (payload: EventsIn<'step'>, name: string) => unknown): () => void;
  /** Every event, system and custom. */
  on(
    pattern: '*',
    listener: (payload: AnySystemEvent | Delivered<CustomEventPayload>, name: string) => unknown,
  ): () => void;
  /** A custom event (declared in a template), or a wildcard over custom events (`'order.*'`). */
  on<P = Delivered<CustomEventPayload>>(pattern: string, listener: EventListener<P>): () => void;
}

export function createTaskerEventBus(options: {
  onSubscriberError?: (error: unknown, name: string) => void;
}): TaskerEventBus {
  return createEventBus(options) as TaskerEventBus;
}
