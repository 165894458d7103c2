/**
 * Operator edits for the HTTP API (SQL functions of migration 8): a task's reason and tags, a step's
 * retry limit and inputs, cancelling and retrying one step. Inputs are validated here, with the field at
 * fault; the SQL functions enforce the state rules.
 */
import { TaskerError } from '../errors.js';
import {
  reasonSchema,
  type StepUpdate,
  stepUpdateSchema,
  type TaskUpdate,
  taskUpdateSchema,
} from '../model/contracts.js';
import { parseOrThrow } from '../parse-or-throw.js';
import { assertId } from './operations.js';
import type { SqlContext } from './sql/sql-context.js';

export type { StepUpdate, TaskUpdate };

export interface EditOperations {
  /** Changes a task's reason and/or tags (any state). */
  updateTask(taskId: number, update: TaskUpdate): Promise<void>;
  /** Changes a step's retry limit and/or inputs; refused (TASKER_OPERATION_NOT_ALLOWED) while it runs or is done. */
  updateStep(stepId: number, update: StepUpdate): Promise<void>;
  /** Cancels a pending or waiting step and the pending steps below it. Idempotent. */
  cancelStep(stepId: number, options?: { reason?: string }): Promise<void>;
  /** Retries one step in error with a fresh set of attempts. */
  retryStep(stepId: number, options?: { reason?: string }): Promise<void>;
}

const parse = parseOrThrow;

function toJson(value: unknown): string {
  const json = JSON.stringify(value ?? null);
  if (json === undefined) {
    throw new TaskerError('TASKER_INVALID_REQUEST', 'inputs must be JSON-serializable', {
      details: [{ path: 'inputs', message: 'must be JSON-serializable' }],
    });
  }
  return json;
}

export function createEditOperations(
  sql: SqlContext,
  db: <T>(fn: () => Promise<T>) => Promise<T>,
): EditOperations {
  const call = async (fn: string, params: unknown[]): Promise<void> => {
    await db(() =>
      sql.db.query(`SELECT ${sql.schema}.${fn}(${params.map((_, i) => `$${i + 1}`).join(', ')})`, params),
    );
  };
  return {
    async updateTask(taskId, update) {
      assertId(taskId, 'taskId');
      const u = parse(taskUpdateSchema, update, 'task update');
      await call('update_task', [taskId, u.reason !== undefined, u.reason ?? null, u.tags ?? null]);
    },
    async updateStep(stepId, update) {
      assertId(stepId, 'stepId');
      const u = parse(stepUpdateSchema, update, 'step update');
      const setInputs = Object.hasOwn(u, 'inputs');
      await call('update_step', [
        stepId,
        u.retryLimit ?? null,
        setInputs,
        setInputs ? toJson(u.inputs) : null,
      ]);
    },
    async cancelStep(stepId, options = {}) {
      assertId(stepId, 'stepId');
      const reason = parse(reasonSchema, options.reason, 'reason');
      await call('cancel_step', [stepId, reason ?? null]);
    },
    async retryStep(stepId, options = {}) {
      assertId(stepId, 'stepId');
      const reason = parse(reasonSchema, options.reason, 'reason');
      await call('retry_step', [stepId, reason ?? null]);
    },
  };
}
