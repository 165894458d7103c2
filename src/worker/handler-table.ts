/**
 * The handler of every step the worker serves, resolved once when it starts (a missing one fails there,
 * not at the first claim). A batch's worker steps (`<batch>[i]`) find theirs under the batch's name.
 */
import type { StepHandler, TaskTemplate, TemplateStep } from '../definitions/types.js';
import { batchOf, workersKey } from './batch-steps.js';

export interface HandlerEntry {
  readonly template: TaskTemplate;
  readonly step: TemplateStep;
  readonly handler: StepHandler<never>;
  /** The item handler of a batch, run by its worker steps. */
  readonly worker: boolean;
}

export type HandlerLookup = (namedTaskId: number, stepName: string) => HandlerEntry | undefined;

export function buildHandlerTable(
  templates: ReadonlyMap<number, TaskTemplate>,
  resolveHandler: (template: TaskTemplate, step: TemplateStep) => StepHandler<never>,
): HandlerLookup {
  const entries = new Map<string, HandlerEntry>();
  for (const [templateId, template] of templates) {
    for (const step of template.steps) {
      entries.set(`${templateId}/${step.name}`, {
        template,
        step,
        handler: resolveHandler(template, step),
        worker: false,
      });
      if (step.batch) {
        entries.set(`${templateId}/${workersKey(step.name)}`, {
          template,
          step,
          handler: resolveHandler(template, { ...step, handler: step.batch.handler }),
          worker: true,
        });
      }
    }
  }
  return (namedTaskId, stepName) => {
    const own = entries.get(`${namedTaskId}/${stepName}`);
    if (own) return own;
    const batch = batchOf(stepName);
    return batch === null ? undefined : entries.get(`${namedTaskId}/${workersKey(batch)}`);
  };
}
