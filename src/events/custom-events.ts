/**
 * Custom events: names a template declares on its steps (`customEvents: [{ name: 'order.shipped' }]`) and
 * that their handlers publish with `ctx.publish(name, payload)`. Checked when the template is registered.
 */
import type { TaskTemplate } from '../definitions/types.js';
import { TaskerError } from '../errors.js';
import { RESERVED_EVENT_NAMESPACES, SYSTEM_EVENT_NAMES } from './catalog.js';

const EVENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)+$/;

/** Why a custom event name is not allowed, or null when it is. */
export function customEventNameProblem(name: string): string | null {
  if (!name.includes('.')) return `"${name}" must contain a "." (e.g. "order.shipped")`;
  if (!EVENT_NAME.test(name)) {
    return `"${name}" must be dot-separated words of letters, digits, "_" and "-"`;
  }
  if ((SYSTEM_EVENT_NAMES as readonly string[]).includes(name)) return `"${name}" is a system event`;
  const namespace = name.slice(0, name.indexOf('.'));
  if (RESERVED_EVENT_NAMESPACES.includes(namespace)) {
    return `"${name}" uses the reserved namespace "${namespace}" (reserved: ${RESERVED_EVENT_NAMESPACES.join(', ')})`;
  }
  return null;
}

/** Throws TASKER_INVALID_DEFINITION listing every bad custom event name of the template. */
export function validateCustomEvents(template: TaskTemplate): void {
  const problems: string[] = [];
  for (const step of template.steps) {
    for (const event of step.customEvents) {
      const problem = customEventNameProblem(event.name);
      if (problem) problems.push(`step "${step.name}": custom event ${problem}`);
    }
  }
  if (problems.length > 0) {
    throw new TaskerError(
      'TASKER_INVALID_DEFINITION',
      `${template.fullName} declares invalid custom events: ${problems.join('; ')}`,
    );
  }
}
