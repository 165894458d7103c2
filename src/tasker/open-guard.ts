/** What every public call of a Tasker goes through: refused once closed; database errors translated. */
import { translateDatabaseError } from '../db/sql-errors.js';
import { TaskerError } from '../errors.js';

export interface OpenGuard {
  /** Throws TASKER_CLOSED once the Tasker is closed. */
  assertOpen(): void;
  /** Runs a database call, turning the engine's SQL errors into TaskerErrors. */
  db<T>(fn: () => Promise<T>): Promise<T>;
  /** Marks the Tasker closed; false when it already was. */
  close(): boolean;
}

export function createOpenGuard(): OpenGuard {
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new TaskerError('TASKER_CLOSED', 'this Tasker has been closed');
  };
  return {
    assertOpen,
    async db(fn) {
      assertOpen();
      try {
        return await fn();
      } catch (error) {
        throw translateDatabaseError(error);
      }
    },
    close() {
      if (closed) return false;
      closed = true;
      return true;
    },
  };
}
