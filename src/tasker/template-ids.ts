/** A template's stored id: stored on first use (register_template), then remembered for the instance. */
import type { TaskTemplate } from '../definitions/types.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { storeTemplate } from '../engine/sql/template-queries.js';

export function createTemplateIds(sql: SqlContext): (template: TaskTemplate) => Promise<number> {
  const stored = new Map<TaskTemplate, Promise<number>>();
  return (template) => {
    let id = stored.get(template);
    if (!id) {
      id = storeTemplate(sql, template);
      // A failed store is tried again next time.
      id.catch(() => stored.delete(template));
      stored.set(template, id);
    }
    return id;
  };
}
