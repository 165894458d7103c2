/**
 * Reading tasks, steps and their audit trail (the Tasker's read methods). A task not in the live tables is
 * looked for in the archive (retention's archive mode), so an archived task reads back whole by its id.
 */
import { listTasks } from '../engine/list-tasks.js';
import { assertId } from '../engine/operations.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import {
  findStep,
  findSteps,
  findStepTransitions,
  findTask,
  findTaskTransitions,
  type TaskSource,
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
    const task = (await db(() => findTask(sql, id))) ?? (await db(() => findTask(sql, id, 'archive')));
    if (!task) throw new TaskerError('TASKER_TASK_NOT_FOUND', `task ${id} does not exist`);
    return task;
  };
  const sourceOf = (task: Task): TaskSource => (task.archivedAt ? 'archive' : 'live');
  /** The step, live or else archived, and where it was found. */
  const locateStep = async (id: number): Promise<{ step: Step; source: TaskSource }> => {
    const live = await db(() => findStep(sql, id));
    if (live) return { step: live, source: 'live' };
    const archived = await db(() => findStep(sql, id, 'archive'));
    if (archived) return { step: archived, source: 'archive' };
    throw new TaskerError('TASKER_STEP_NOT_FOUND', `step ${id} does not exist`);
  };
  const getStep = async (id: number): Promise<Step> => (await locateStep(id)).step;

  return {
    getTaskSummary,
    getStep,
    async getTask(id) {
      const task = await getTaskSummary(id);
      return { ...task, steps: await db(() => findSteps(sql, [id], sourceOf(task))) };
    },
    listTasks: (filter = {}) => db(() => listTasks(sql, filter)),
    async getTaskTransitions(taskId) {
      const task = await getTaskSummary(taskId);
      return db(() => findTaskTransitions(sql, taskId, sourceOf(task)));
    },
    async getStepTransitions(stepId) {
      const { source } = await locateStep(stepId);
      return db(() => findStepTransitions(sql, 'step', stepId, source));
    },
    async getAuditTrail(taskId) {
      const source = sourceOf(await getTaskSummary(taskId));
      const [own, steps] = await Promise.all([
        db(() => findTaskTransitions(sql, taskId, source)),
        db(() => findStepTransitions(sql, 'task', taskId, source)),
      ]);
      return [...own, ...steps].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },
    async getStepsOfTasks(taskIds) {
      for (const id of taskIds) assertId(id, 'taskId');
      if (taskIds.length === 0) return [];
      const live = await db(() => findSteps(sql, [...taskIds]));
      const found = new Set(live.map((s) => s.taskId));
      const rest = taskIds.filter((id) => !found.has(id));
      if (rest.length === 0) return live;
      const archived = await db(() => findSteps(sql, rest, 'archive'));
      return [...live, ...archived].sort((a, b) => a.taskId - b.taskId || a.position - b.position);
    },
  };
}
