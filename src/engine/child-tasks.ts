/**
 * Child workflows (docs/workflows.md#child-workflows): `ctx.startChild` creates a task whose parent is the
 * calling step, once per step and call (an idempotency key), and either returns the finished child's
 * results or ends the attempt with ChildPending, after which the step waits for the child without a
 * worker slot (migration 22) and runs again when it finishes.
 */
import type { ChildTaskRequest, ChildTaskResult } from '../definitions/types.js';
import { PermanentError, TaskerError } from '../errors.js';
import { MAX_PRIORITY } from '../model/flow-control.js';
import type { TaskWithSteps } from '../model/types.js';
import type { TaskCreator } from './create-tasks.js';
import type { SqlContext } from './sql/sql-context.js';

/** Thrown by ctx.startChild while the child runs: the attempt ends and the step waits for it. */
export class ChildPending extends Error {
  readonly childTaskId: number;
  constructor(childTaskId: number) {
    super(`waiting for child task ${childTaskId}`);
    this.name = 'ChildPending';
    this.childTaskId = childTaskId;
  }
}

export interface ChildTasks {
  /** `call` numbers the startChild calls of one handler run, so each gets its own child. */
  start(
    parent: {
      readonly taskId: number;
      readonly stepId: number;
      readonly call: number;
      /** When the parent task was created: the child is claimed as if it had waited since then. */
      readonly taskCreatedAt: Date | null;
    },
    request: ChildTaskRequest,
  ): Promise<ChildTaskResult>;
}

/** The results of a finished task's last steps (those no other step depends on), by name. */
export function leafResults(task: TaskWithSteps): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const step of task.steps) {
    if (step.childIds.length === 0 && step.state !== 'skipped') results[step.name] = step.results;
  }
  return results;
}

export function createChildTasks(deps: {
  readonly sql: SqlContext;
  readonly creator: TaskCreator;
  readonly getTask: (id: number) => Promise<TaskWithSteps>;
}): ChildTasks {
  return {
    async start(parent, request) {
      if (typeof request !== 'object' || request === null || typeof request.name !== 'string') {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          'startChild expects { namespace?, name, version?, context? }',
        );
      }
      const prepared = await deps.creator.prepareTasks([
        {
          ...(request.namespace ? { namespace: request.namespace } : {}),
          name: request.name,
          ...(request.version ? { version: request.version } : {}),
          context: request.context ?? {},
          ...(request.tags ? { tags: [...request.tags] } : {}),
          idempotencyKey: `child:${parent.stepId}:${parent.call}`,
          // Started work first: the child ranks as if ready when its parent task was created, so under
          // load it is not queued behind work that arrived after its parent.
          priority: Math.min(
            MAX_PRIORITY,
            Math.max(0, Math.ceil((Date.now() - (parent.taskCreatedAt?.getTime() ?? Date.now())) / 1000)),
          ),
          initiator: `task:${parent.taskId}`,
          sourceSystem: 'tasker',
        },
      ]);
      Object.assign(prepared.tasks[0]!.row, { parent_task_id: parent.taskId, parent_step_id: parent.stepId });
      const [created] = await deps.creator.insertPrepared(deps.sql.db, prepared);
      if (created!.state === 'pending' || created!.state === 'in_progress')
        throw new ChildPending(created!.id);
      const child = await deps.getTask(created!.id);
      if (child.state === 'complete' || child.state === 'resolved_manually') {
        return { taskId: child.id, results: leafResults(child) };
      }
      throw new PermanentError(
        `child task ${child.id} (${child.namespace}.${child.name}) ended ${child.state === 'error' ? 'in error' : child.state}`,
        { code: 'CHILD_FAILED', context: { childTaskId: child.id, childState: child.state } },
      );
    },
  };
}
