/** REST routes of the steps of a task: list, show, update, cancel, retry, resolve, transitions. */
import { reasonSchema, type StepUpdate, stepUpdateSchema, wireJsonSchema } from '../model/contracts.js';
import type { Step } from '../model/types.js';
import type { Tasker } from '../tasker.js';
import type { RouteModule } from './context.js';
import { toId } from './context.js';
import { HttpProblem } from './problems.js';
import { idParam, itemsOf, problemResponses, reasonBody } from './schemas.js';

const params = {
  type: 'object',
  properties: { id: idParam, stepId: idParam },
  required: ['id', 'stepId'],
} as const;
type Params = { id: string; stepId: string };

/** The step, when it belongs to the task; 404 otherwise (a step id of another task is not found here). */
async function stepOfTask(tasker: Tasker, taskId: number, stepId: number): Promise<Step> {
  const step = await tasker.getStep(stepId);
  if (step.taskId !== taskId) {
    throw new HttpProblem(404, 'TASKER_STEP_NOT_FOUND', `task ${taskId} has no step ${stepId}`);
  }
  return step;
}

/** Steps of the task sharing a parent with the step (for roots: the other roots). */
export function siblingIds(step: Step, steps: readonly Step[]): number[] {
  const parents = new Set(step.parentIds);
  return steps
    .filter(
      (s) =>
        s.id !== step.id &&
        (parents.size === 0 ? s.parentIds.length === 0 : s.parentIds.some((p) => parents.has(p))),
    )
    .map((s) => s.id);
}

export const stepRoutes: RouteModule = (app, { tasker }) => {
  app.get<{ Params: { id: string } }>(
    '/tasks/:id/steps',
    {
      config: { permission: 'tasker.workflow_step:index' },
      schema: {
        tags: ['steps'],
        summary: 'The steps of a task',
        params: { type: 'object', properties: { id: idParam }, required: ['id'] },
        response: { 200: itemsOf('Step'), ...problemResponses },
      },
    },
    async (request) => ({ items: (await tasker.getTask(toId(request.params.id))).steps }),
  );

  app.get<{ Params: Params }>(
    '/tasks/:id/steps/:stepId',
    {
      config: { permission: 'tasker.workflow_step:show' },
      schema: {
        tags: ['steps'],
        summary: 'A step with its parent, child and sibling ids and its transitions',
        params,
        response: { 200: { $ref: 'StepDetail#' }, ...problemResponses },
      },
    },
    async (request) => {
      const taskId = toId(request.params.id);
      const step = await stepOfTask(tasker, taskId, toId(request.params.stepId));
      const [task, transitions] = await Promise.all([
        tasker.getTask(taskId),
        tasker.getStepTransitions(step.id),
      ]);
      return { ...step, siblingIds: siblingIds(step, task.steps), transitions };
    },
  );

  app.patch<{ Params: Params; Body: StepUpdate }>(
    '/tasks/:id/steps/:stepId',
    {
      config: { permission: 'tasker.workflow_step:update' },
      schema: {
        tags: ['steps'],
        summary: "Change a step's retry limit and/or inputs (only while it is not running)",
        params,
        body: { ...wireJsonSchema(stepUpdateSchema), minProperties: 1 },
        response: { 200: { $ref: 'Step#' }, ...problemResponses },
      },
    },
    async (request) => {
      const step = await stepOfTask(tasker, toId(request.params.id), toId(request.params.stepId));
      await tasker.updateStep(step.id, request.body);
      return tasker.getStep(step.id);
    },
  );

  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: Params; Body: { reason?: string } }>(
      `/tasks/:id/steps/:stepId/${action}`,
      {
        config: { permission: `tasker.workflow_step:${action}` },
        schema: {
          tags: ['steps'],
          summary:
            action === 'cancel'
              ? 'Cancel a pending or waiting step (and the pending steps below it)'
              : 'Retry a step in error with a fresh set of attempts',
          params,
          body: reasonBody,
          response: { 200: { $ref: 'Step#' }, ...problemResponses },
        },
      },
      async (request) => {
        const step = await stepOfTask(tasker, toId(request.params.id), toId(request.params.stepId));
        const reason = request.body.reason;
        if (action === 'cancel') await tasker.cancelStep(step.id, { reason });
        else await tasker.retryStep(step.id, { reason });
        return tasker.getStep(step.id);
      },
    );
  }

  app.post<{ Params: Params; Body: { results: unknown; reason?: string } }>(
    '/tasks/:id/steps/:stepId/resolve',
    {
      config: { permission: 'tasker.workflow_step:update' },
      schema: {
        tags: ['steps'],
        summary: 'Resolve a step by hand with results; its children proceed',
        params,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['results'],
          properties: { results: {}, reason: wireJsonSchema(reasonSchema) },
        },
        response: { 200: { $ref: 'Step#' }, ...problemResponses },
      },
    },
    async (request) => {
      const step = await stepOfTask(tasker, toId(request.params.id), toId(request.params.stepId));
      await tasker.resolveStep(step.id, request.body.results, { reason: request.body.reason });
      return tasker.getStep(step.id);
    },
  );

  app.get<{ Params: Params }>(
    '/tasks/:id/steps/:stepId/transitions',
    {
      config: { permission: 'tasker.workflow_step:show' },
      schema: {
        tags: ['steps'],
        summary: "A step's transitions",
        params,
        response: { 200: itemsOf('StepTransition'), ...problemResponses },
      },
    },
    async (request) => {
      const step = await stepOfTask(tasker, toId(request.params.id), toId(request.params.stepId));
      return { items: await tasker.getStepTransitions(step.id) };
    },
  );
};
