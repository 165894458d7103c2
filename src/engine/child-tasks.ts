/**
 * Child workflows (docs/workflows.md#child-workflows): `ctx.startChild` creates a task whose parent is the
 * calling step, once per step and call (an idempotency key), and either returns the finished child's
 * results or ends the attempt with ChildPending, after which the step waits for the child without a
 * worker slot (migration 22) and runs again when it finishes.
 */
import type { ChildTaskRequest, ChildTaskResult, TaskTemplate } from '../definitions/types.js';
import { PermanentError, TaskerError } from '../errors.js';
import { MAX_PRIORITY } from '../model/flow-control.js';
import type { TaskWithSteps } from '../model/types.js';
import type { TaskCreator } from './create-tasks.js';

/** What a round trip needs to create a child task (migration 25): the checked request. */
export interface ChildCreation {
  readonly call: number;
  readonly namedTaskId: number;
  readonly task: Readonly<Record<string, unknown>>;
}

/**
 * Thrown by ctx.startChild while the child runs, or before it exists: the attempt ends and the step
 * waits for the child (created by the worker's round trip when `creation` is set).
 */
export class ChildPending extends Error {
  readonly childTaskId: number | null;
  readonly creation: ChildCreation | null;
  constructor(child: number | ChildCreation) {
    super(typeof child === 'number' ? `waiting for child task ${child}` : 'starting a child task');
    this.name = 'ChildPending';
    this.childTaskId = typeof child === 'number' ? child : null;
    this.creation = typeof child === 'number' ? null : child;
  }
}

/** What the parent step knows of its children (its inputs' `children`, kept by the database). */
export interface ChildRecord {
  readonly task_id: number;
  readonly state: string;
  readonly results?: Record<string, unknown>;
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
      /** The step's inputs: the children it started so far, by call. */
      readonly inputs: unknown;
    },
    request: ChildTaskRequest,
  ): Promise<ChildTaskResult>;
}

/** The results of a finished task's last steps (those no other step depends on), by name. */
export function leafResults(task: TaskWithSteps): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const step of task.steps) {
    if (
      step.childIds.length === 0 &&
      step.state !== 'skipped' &&
      step.batchParentId === null &&
      step.compensation === null
    ) {
      results[step.name] = step.results;
    }
  }
  return results;
}

function childRecord(inputs: unknown, call: number): ChildRecord | null {
  const children = (inputs as { children?: Record<string, ChildRecord> } | null)?.children;
  return children?.[String(call)] ?? null;
}

export function createChildTasks(deps: {
  readonly creator: TaskCreator;
  readonly templateId: (template: TaskTemplate) => Promise<number>;
}): ChildTasks {
  return {
    async start(parent, request) {
      if (typeof request !== 'object' || request === null || typeof request.name !== 'string') {
        throw new TaskerError(
          'TASKER_INVALID_REQUEST',
          'startChild expects { namespace?, name, version?, context? }',
        );
      }
      const known = childRecord(parent.inputs, parent.call);
      if (known && known.state !== 'pending' && known.state !== 'in_progress') {
        if (known.state === 'complete' || known.state === 'resolved_manually') {
          return { taskId: known.task_id, results: known.results ?? {} };
        }
        throw new PermanentError(
          `child task ${known.task_id} (${request.namespace ?? 'default'}.${request.name}) ended ${known.state === 'error' ? 'in error' : known.state}`,
          { code: 'CHILD_FAILED', context: { childTaskId: known.task_id, childState: known.state } },
        );
      }
      if (known) throw new ChildPending(known.task_id);
      // Checked here (a bad request fails the step now); written by the worker's round trip.
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
      const child = prepared.tasks[0]!;
      throw new ChildPending({
        call: parent.call,
        namedTaskId: await deps.templateId(child.template),
        task: { ...child.row, parent_task_id: parent.taskId, parent_step_id: parent.stepId },
      });
    },
  };
}
