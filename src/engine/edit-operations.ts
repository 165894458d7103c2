/**
 * Operator edits for the HTTP API (SQL functions of migration 6): a task's reason and tags, a step's
 * retry limit and inputs, cancelling and retrying one step. Inputs are validated here, with the field at
 * fault; the SQL functions enforce the state rules.
 */
import { z } from 'zod';
import { zodProblems } from '../definitions/define-task.js';
import { formatProblems, TaskerError } from '../errors.js';
import { assertId } from './operations.js';
import type { SqlContext } from './sql/sql-context.js';

export const taskUpdateSchema = z
  .object({
    /** A new reason; null clears it. */
    reason: z.string().max(128).nullable().optional(),
    /** Replaces the task's tags. */
    tags: z.array(z.string().min(1).max(64)).max(50).optional(),
  })
  .strict();
export type TaskUpdate = z.input<typeof taskUpdateSchema>;

export const stepUpdateSchema = z
  .object({
    retryLimit: z.number().int().min(1).max(1000).optional(),
    /** New inputs for the step's next attempt (any JSON; null clears them). */
    inputs: z.unknown().optional(),
  })
  .strict();
export type StepUpdate = z.input<typeof stepUpdateSchema>;

const reasonSchema = z.string().max(500).optional();

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

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error);
    throw new TaskerError('TASKER_INVALID_REQUEST', `invalid ${what}:\n${formatProblems(problems)}`, {
      details: problems,
    });
  }
  return parsed.data;
}

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
