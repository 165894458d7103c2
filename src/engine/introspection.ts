/** Readiness, execution context and dependency levels of tasks, from the SQL functions of migration 4. */
import { TaskerError } from '../errors.js';
import { assertId } from './operations.js';
import type { SqlContext } from './sql/sql-context.js';

export interface StepReadiness {
  readonly workflowStepId: number;
  readonly taskId: number;
  readonly namedStepId: number;
  readonly name: string;
  readonly currentState: string;
  readonly dependenciesSatisfied: boolean;
  readonly retryEligible: boolean;
  readonly readyForExecution: boolean;
  readonly lastFailureAt: Date | null;
  readonly nextRetryAt: Date | null;
  readonly totalParents: number;
  readonly completedParents: number;
  readonly attempts: number;
  readonly retryLimit: number;
  readonly backoffRequestSeconds: number | null;
  readonly lastAttemptedAt: Date | null;
}

export type ExecutionStatus =
  | 'has_ready_steps'
  | 'processing'
  | 'blocked_by_failures'
  | 'all_complete'
  | 'waiting_for_dependencies'
  | 'cancelled';

export interface TaskExecutionContext {
  readonly taskId: number;
  readonly namedTaskId: number;
  readonly status: string;
  readonly totalSteps: number;
  readonly pendingSteps: number;
  readonly inProgressSteps: number;
  readonly completedSteps: number;
  readonly failedSteps: number;
  readonly readySteps: number;
  readonly executionStatus: ExecutionStatus;
  readonly recommendedAction:
    | 'execute_ready_steps'
    | 'wait_for_completion'
    | 'handle_failures'
    | 'finalize_task'
    | 'wait_for_dependencies'
    | 'none';
  readonly completionPercentage: number;
  readonly healthStatus: 'healthy' | 'recovering' | 'blocked' | 'unknown';
}

export interface Introspection {
  stepReadiness(taskId: number): Promise<StepReadiness[]>;
  executionContext(taskId: number): Promise<TaskExecutionContext>;
  /** Level of each step (0 for roots), by step id. */
  dependencyLevels(taskId: number): Promise<Map<number, number>>;
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
function camelize<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    out[camel(k)] =
      (k === 'backoff_request_seconds' || k === 'completion_percentage') && v !== null ? Number(v) : v;
  }
  return out as T;
}

export function createIntrospection(
  sql: SqlContext,
  db: <T>(fn: () => Promise<T>) => Promise<T>,
): Introspection {
  const exists = async (taskId: number) => {
    const { rows } = await db(() =>
      sql.db.query(`SELECT 1 FROM ${sql.schema}.tasks WHERE id = $1`, [taskId]),
    );
    if (rows.length === 0) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${taskId} does not exist`);
  };
  return {
    async stepReadiness(taskId) {
      assertId(taskId, 'taskId');
      await exists(taskId);
      const { rows } = await db(() =>
        sql.db.query<Record<string, unknown>>(`SELECT * FROM ${sql.schema}.step_readiness_status($1)`, [
          taskId,
        ]),
      );
      return rows.map((r) => camelize<StepReadiness>(r));
    },
    async executionContext(taskId) {
      assertId(taskId, 'taskId');
      const { rows } = await db(() =>
        sql.db.query<Record<string, unknown>>(`SELECT * FROM ${sql.schema}.task_execution_context($1)`, [
          taskId,
        ]),
      );
      if (!rows[0]) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${taskId} does not exist`);
      return camelize<TaskExecutionContext>(rows[0]);
    },
    async dependencyLevels(taskId) {
      assertId(taskId, 'taskId');
      await exists(taskId);
      const { rows } = await db(() =>
        sql.db.query<{ workflow_step_id: number; dependency_level: number }>(
          `SELECT * FROM ${sql.schema}.calculate_dependency_levels($1)`,
          [taskId],
        ),
      );
      return new Map(rows.map((r) => [r.workflow_step_id, r.dependency_level]));
    },
  };
}
