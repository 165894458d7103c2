/**
 * The one PostgreSQL session inside PGlite, shared between this process's own work and the connections
 * of other processes (socket-server.ts). This process's work shares the session (PGlite's own mutexes
 * order its statements, as when nothing is shared); a connection of another process takes it whole,
 * from its first message up to the end of its transaction, so statements of different processes never
 * run inside each other's transactions. Waiters are served first come, first served, so a busy local
 * worker cannot starve the other processes.
 *
 * States: free -> local(n >= 1) -> free, and free -> remote(one connection) -> free.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface SessionGate {
  /** Runs this process's work on the session (nested calls inside it do not wait again). */
  local<T>(fn: () => Promise<T>): Promise<T>;
  /** Takes the session for another process's connection; resolves with the function that gives it back. */
  exclusive(): Promise<() => void>;
  /**
   * Runs `fn` outside any local work (for callbacks started from inside it, such as notification
   * listeners, which must wait for the session like any other work).
   */
  outside<T>(fn: () => T): T;
}

interface Waiter {
  readonly kind: 'local' | 'exclusive';
  readonly grant: () => void;
}

export function createSessionGate(): SessionGate {
  const inLocal = new AsyncLocalStorage<true>();
  const queue: Waiter[] = [];
  let localCount = 0;
  let exclusiveHeld = false;

  const drain = () => {
    while (queue.length > 0 && !exclusiveHeld) {
      const head = queue[0]!;
      if (head.kind === 'local') {
        queue.shift();
        localCount++;
        head.grant();
      } else if (localCount === 0) {
        queue.shift();
        exclusiveHeld = true;
        head.grant();
      } else return;
    }
  };

  const acquireLocal = (): Promise<void> => {
    if (!exclusiveHeld && queue.length === 0) {
      localCount++;
      return Promise.resolve();
    }
    return new Promise((resolve) => queue.push({ kind: 'local', grant: resolve }));
  };

  return {
    async local(fn) {
      if (inLocal.getStore()) return fn();
      await acquireLocal();
      try {
        return await inLocal.run(true, fn);
      } finally {
        localCount--;
        drain();
      }
    },
    outside: (fn) => inLocal.exit(fn),
    async exclusive() {
      if (exclusiveHeld || localCount > 0 || queue.length > 0) {
        await new Promise<void>((resolve) => queue.push({ kind: 'exclusive', grant: resolve }));
      } else exclusiveHeld = true;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        exclusiveHeld = false;
        drain();
      };
    },
  };
}
