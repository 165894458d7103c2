/** Operator actions from the library: thin, validated calls to the SQL functions of migration 3. */
import { TaskerError } from '../errors.js';
import type { TaskState } from '../model/states.js';
import type { SqlContext } from './sql/sql-context.js';

export interface Operations {
  /** Cancels a task (idempotent). Running handlers see their signal aborted. Returns the task's state. */
  cancelTask(taskId: number, options?: { reason?: string }): Promise<TaskState>;
  /** Retries a task in error: failed steps get a fresh set of attempts. Returns the task's state. */
  retryTask(taskId: number, options?: { reason?: string }): Promise<TaskState>;
  /** Resolves a step by hand with the given results; its children proceed. Returns the task's state. */
  resolveStep(stepId: number, results: unknown, options?: { reason?: string }): Promise<TaskState>;
  /** Attaches a JSON annotation of a named type to a task; returns its id. */
  annotateTask(taskId: number, type: string, annotation: unknown): Promise<number>;
  /**
   * Sends a named signal with a payload to a task (docs/workflows.md#durable-waits): a step waiting for it
   * ends its wait; one that waits later takes it then. Refused for a finished task. Returns the signal id.
   */
  signal(taskId: number, name: string, payload?: unknown): Promise<{ readonly signalId: number }>;
}

export function assertId(value: unknown, what: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new TaskerError(
      'TASKER_INVALID_REQUEST',
      `${what} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
}

function assertReason(reason: unknown): void {
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) {
    throw new TaskerError('TASKER_INVALID_REQUEST', 'reason must be a string of at most 500 characters');
  }
}

function toJson(value: unknown, what: string): string {
  try {
    const json = JSON.stringify(value === undefined ? null : value);
    if (json === undefined) throw new Error('not representable');
    return json;
  } catch (error) {
    throw new TaskerError(
      'TASKER_INVALID_REQUEST',
      `${what} must be JSON-serializable: ${(error as Error).message}`,
    );
  }
}

export function createOperations(sql: SqlContext, db: <T>(fn: () => Promise<T>) => Promise<T>): Operations {
  const call = async (fn: string, params: unknown[]): Promise<TaskState> => {
    const { rows } = await db(() =>
      sql.db.query<{ state: TaskState }>(
        `SELECT ${sql.schema}.${fn}(${params.map((_, i) => `$${i + 1}`).join(', ')}) AS state`,
        params,
      ),
    );
    return rows[0]!.state;
  };
  return {
    cancelTask(taskId, options = {}) {
      assertId(taskId, 'taskId');
      assertReason(options.reason);
      return call('cancel_task', [taskId, options.reason ?? null]);
    },
    retryTask(taskId, options = {}) {
      assertId(taskId, 'taskId');
      assertReason(options.reason);
      return call('retry_task', [taskId, options.reason ?? null]);
    },
    resolveStep(stepId, results, options = {}) {
      assertId(stepId, 'stepId');
      assertReason(options.reason);
      return call('resolve_step', [stepId, toJson(results, 'results'), options.reason ?? null]);
    },
    async signal(taskId, name, payload) {
      assertId(taskId, 'taskId');
      if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          'signal name must be 1-128 letters, digits, "_", ".", ":" or "-"',
        );
      }
      const { rows } = await db(() =>
        sql.db.query<{ id: string }>(`SELECT ${sql.schema}.send_signal($1, $2, $3) AS id`, [
          taskId,
          name,
          toJson(payload, 'payload'),
        ]),
      );
      return { signalId: Number(rows[0]!.id) };
    },
    async annotateTask(taskId, type, annotation) {
      assertId(taskId, 'taskId');
      if (typeof type !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(type)) {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          'annotation type must be 1-64 letters, digits, "_", "-" or "."',
        );
      }
      const { rows } = await db(() =>
        sql.db.query<{ id: number }>(`SELECT ${sql.schema}.annotate_task($1, $2, $3) AS id`, [
          taskId,
          type,
          toJson(annotation, 'annotation'),
        ]),
      );
      return rows[0]!.id;
    },
  };
}
