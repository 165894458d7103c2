/**
 * An in-process event bus: subscribers by exact name or wildcard (`step.*`, `*`). Events are delivered
 * after the emitting code has moved on, and a subscriber that throws (or rejects) is isolated: the error
 * goes to `onSubscriberError`, the engine and other subscribers carry on.
 */
export type EventListener<P = unknown> = (payload: P, name: string) => unknown;

export interface EventBus {
  /** Subscribes; returns the function that unsubscribes. */
  on<P = unknown>(pattern: string, listener: EventListener<P>): () => void;
  off(pattern: string, listener: EventListener<never>): void;
  /** Delivers a copy of `payload` (with its timestamp) to the subscribers of `name`. */
  emit(name: string, payload: Record<string, unknown>): void;
  /**
   * As `emit`, for a payload made for this call that the caller never touches again (the engine's own
   * events): it is delivered as it is, given its timestamp and frozen, not copied.
   */
  emitFresh(name: string, payload: Record<string, unknown>): void;
  /** Whether anyone listens for this name (lets emitters skip building payloads). */
  has(name: string): boolean;
}

function matches(pattern: string, name: string): boolean {
  if (pattern === '*' || pattern === name) return true;
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
  return false;
}

export function createEventBus(
  options: { onSubscriberError?: (error: unknown, name: string) => void } = {},
): EventBus {
  const listeners = new Map<string, Set<EventListener<never>>>();
  // The listeners of each event name, worked out once per subscription change: matching every pattern
  // on every emit cost more than delivering (thousands of events a second, a dozen patterns).
  const targetsByName = new Map<string, readonly EventListener<never>[]>();
  const targetsOf = (name: string): readonly EventListener<never>[] => {
    let targets = targetsByName.get(name);
    if (!targets) {
      const found: EventListener<never>[] = [];
      for (const [pattern, set] of listeners) if (matches(pattern, name)) found.push(...set);
      targets = found;
      // Names are a template's own few, but nothing stops a caller from making up names: stay bounded.
      if (targetsByName.size >= 1000) targetsByName.clear();
      targetsByName.set(name, targets);
    }
    return targets;
  };
  // Events emitted in the same millisecond share one timestamp string.
  let stampMs = -1;
  let stamp = '';
  const timestamp = (): string => {
    const now = Date.now();
    if (now !== stampMs) {
      stampMs = now;
      stamp = new Date(now).toISOString();
    }
    return stamp;
  };
  const report = options.onSubscriberError ?? (() => {});
  const queue: Array<{ name: string; event: unknown; targets: readonly EventListener<never>[] }> = [];
  let scheduled = false;

  function deliver(): void {
    scheduled = false;
    for (const { name, event, targets } of queue.splice(0)) {
      for (const listener of targets) {
        try {
          const result = (listener as EventListener)(event, name);
          if (result instanceof Promise) result.catch((error) => report(error, name));
        } catch (error) {
          report(error, name);
        }
      }
    }
  }

  function enqueue(
    name: string,
    payload: Record<string, unknown>,
    targets: readonly EventListener<never>[],
  ): void {
    // Not `Object.freeze({ ...payload, timestamp })`: on Node 20 a spread followed by another property
    // took 1-8 µs per event (measured), more than delivering it.
    payload.timestamp = timestamp();
    queue.push({ name, event: Object.freeze(payload), targets });
    // One deferred delivery for every event emitted in this turn, not one per event: a round trip that
    // records 50 outcomes emits about 150 events.
    if (!scheduled) {
      scheduled = true;
      setImmediate(deliver);
    }
  }

  return {
    on(pattern, listener) {
      let set = listeners.get(pattern);
      if (!set) {
        set = new Set();
        listeners.set(pattern, set);
      }
      set.add(listener as EventListener<never>);
      targetsByName.clear();
      return () => this.off(pattern, listener as EventListener<never>);
    },
    off(pattern, listener) {
      if (listeners.get(pattern)?.delete(listener)) targetsByName.clear();
    },
    has(name) {
      return targetsOf(name).length > 0;
    },
    emit(name, payload) {
      const targets = targetsOf(name);
      if (targets.length > 0) enqueue(name, Object.assign({}, payload), targets);
    },
    emitFresh(name, payload) {
      const targets = targetsOf(name);
      if (targets.length > 0) enqueue(name, payload, targets);
    },
  };
}
