/** Storing task templates, so that tasks can be created (also from SQL) and other processes see them. */
import type { TaskTemplate } from '../../definitions/types.js';
import type { SqlContext } from './sql-context.js';

/** The template as stored in named_tasks.configuration (handlers by name; functions are not storable). */
export function templateConfiguration(template: TaskTemplate): Record<string, unknown> {
  return {
    contextSchema: template.contextSchema,
    dependentSystem: template.dependentSystem,
    steps: template.steps.map((s) => ({
      name: s.name,
      description: s.description,
      dependsOn: s.dependsOn,
      dependentSystem: s.dependentSystem,
      handler: typeof s.handler === 'string' ? s.handler : s.handler.name || '(function)',
      retryable: s.retryable,
      retryLimit: s.retryLimit,
      timeoutMs: s.timeoutMs,
      skippable: s.skippable,
      config: s.config,
      customEvents: s.customEvents,
      ...(s.kind !== 'step' ? { kind: s.kind } : {}),
      ...(s.undo ? { undo: s.undo } : {}),
    })),
    // Read by the database when a task fails (migration 24): which compensation steps it creates.
    ...(compensates(template)
      ? {
          compensation: {
            onFailure: template.onFailure,
            undo: Object.fromEntries(template.steps.filter((s) => s.undo).map((s) => [s.name, s.undo])),
          },
        }
      : {}),
  };
}

function compensates(template: TaskTemplate): boolean {
  return template.onFailure !== null || template.steps.some((s) => s.undo !== null);
}

/** Creates or updates the stored template; returns its named_tasks id. */
export async function storeTemplate(sql: SqlContext, template: TaskTemplate): Promise<number> {
  // Compensation steps (last in the template) are created only when a task fails, from the configuration.
  const steps = template.steps
    .filter((s) => s.kind !== 'compensation')
    .map((s) => ({
      name: s.name,
      description: s.description,
      dependent_system: s.dependentSystem,
      retryable: s.retryable,
      retry_limit: s.retryLimit,
      timeout_ms: s.timeoutMs,
      skippable: s.skippable,
      parent_positions: s.parentPositions,
    }));
  const { rows } = await sql.db.query<{ id: number }>(
    `SELECT ${sql.schema}.register_template($1, $2, $3, $4, $5, $6, $7) AS id`,
    [
      template.namespace,
      template.name,
      template.version,
      template.description,
      template.hash,
      JSON.stringify(templateConfiguration(template)),
      JSON.stringify(steps),
    ],
  );
  return rows[0]!.id;
}
