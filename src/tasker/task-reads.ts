/** Reading tasks, steps and their audit trail (the Tasker's read methods). */
import { listTasks } from '../engine/list-tasks.js';
import { assertId } from '../engine/operations.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import {
  findStep,
  findSteps,
  findStepTransitions,
  findTask,
  findTaskTransitions,
} from '../engine/sql/task-queries.js';
import { TaskerError } from '../errors.js';
import type { Step, Task } from '../model/types.js';
import type { OpenGuard } from './open-guard.js';
import type { Tasker } from './tasker-api.js';

/** The read methods of a Tasker (their contract and documentation: tasker-api.ts). */
export type TaskReads = Pick<
  Tasker,
  | 'getTask'
  | 'getTaskSummary'
  | 'getStep'
  | 'listTasks'
  | 'getTaskTransitions'
  | 'getStepTransitions'
  | 'getAuditTrail'
  | 'getStepsOfTasks'
>;

export function createTaskReads(sql: SqlContext, { db }: OpenGuard): TaskReads {
  const getTaskSummary = async (id: number): Promise<Task> => {
    const task = await db(() => findTask(sql, id));
    if (!task) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${id} does not exist`);
    return task;
  };
  const getStep = async (id: number): Promise<Step> => {
    const step = await db(() => findStep(sql, id));
    if (!step) throw new TaskerError('TASKER_STEP_NOT_FOUND', `step ${id} does not exist`);
    return step;
  };

  return {
    getTaskSummary,
    getStep,
    async getTask(id) {
      const task = await getTaskSummary(id);
      return { ...task, steps: await db(() => findSteps(sql, [id])) };
    },
    listTasks: (filter = {}) => db(() => listTasks(sql, filter)),
    async getTaskTransitions(taskId) {
      await getTaskSummary(taskId);
      return db(() => findTaskTransitions(sql, taskId));
    },
    async getStepTransitions(stepId) {
      await getStep(stepId);
      return db(() => findStepTransitions(sql, 'step', stepId));
    },
    async getAuditTrail(taskId) {
      await getTaskSummary(taskId);
      const [own, steps] = await Promise.all([
        db(() => findTaskTransitions(sql, taskId)),
        db(() => findStepTransitions(sql, 'task', taskId)),
      ]);
      return [...own, ...steps].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },
    async getStepsOfTasks(taskIds) {
      for (const id of taskIds) assertId(id, 'taskId');
      if (taskIds.length === 0) return [];
      return db(() => findSteps(sql, [...taskIds]));
    },
  };
}
