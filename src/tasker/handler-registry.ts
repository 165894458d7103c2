/**
 * The step handlers a Tasker knows by name: the built-ins (`http`, `wait`) and those registered with
 * `registerHandler` (a function, or a class with a `process(context)` method). Templates whose steps name
 * a handler resolve it here when a worker starts.
 */
import type { StepHandler, StepHandlerClass, TaskTemplate, TemplateStep } from '../definitions/types.js';
import { TaskerError } from '../errors.js';
import { createHttpHandler, HTTP_HANDLER_NAME } from '../handlers/http-handler.js';
import { createWaitHandler } from '../handlers/wait-handler.js';
import { WAIT_HANDLER_NAME } from '../model/step-kinds.js';
import { asStepHandler } from '../templates/handler-class.js';

export interface HandlerRegistry {
  register(
    name: string,
    handler: StepHandler<never> | StepHandlerClass,
    options?: { replace?: boolean },
  ): void;
  /** A step's handler: its function, or the one registered under its name. Throws TASKER_INVALID_DEFINITION. */
  resolve(template: TaskTemplate, step: TemplateStep): StepHandler<never>;
}

export function createHandlerRegistry(): HandlerRegistry {
  const handlers = new Map<string, StepHandler<never>>();
  // Available to every template by name (register with replace overrides them).
  handlers.set(HTTP_HANDLER_NAME, createHttpHandler());
  handlers.set(WAIT_HANDLER_NAME, createWaitHandler());

  return {
    register(name, handler, options = {}) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new TaskerError('TASKER_INVALID_DEFINITION', 'a handler name must be a non-empty string');
      }
      // A class with a process method (the original Tasker's handler shape) runs as a function.
      const fn = asStepHandler(handler);
      if (!fn) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          `handler "${name}" must be a function, or a class with a process(context) method`,
        );
      }
      if (handlers.has(name) && !options.replace) {
        throw new TaskerError(
          'TASKER_DUPLICATE_DEFINITION',
          `a handler named "${name}" is already registered; pass { replace: true } to replace it`,
        );
      }
      handlers.set(name, fn);
    },
    resolve(template, step) {
      if (typeof step.handler === 'function') return step.handler;
      const handler = handlers.get(step.handler);
      if (!handler) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          `step "${step.name}" of ${template.fullName} names handler "${step.handler}", which is not registered` +
            (handlers.size > 0 ? ` (registered: ${[...handlers.keys()].join(', ')})` : ''),
        );
      }
      return handler;
    },
  };
}
