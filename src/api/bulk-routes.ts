/**
 * Bulk operations over REST (docs/diagnostics.md#bulk-operations):
 *
 *   POST {prefix}/bulk/retry     retry the tasks whose steps failed for good and match the filter
 *   POST {prefix}/bulk/resolve   resolve those steps with the given results
 *   POST {prefix}/bulk/cancel    cancel the unfinished tasks matching the filter
 *
 * Body: { filter, reason, requestedBy?, results? (resolve), dryRun?, limit? }. A dry run answers how
 * many would change. Permissions: those of the single operation (tasker.task:retry, tasker.task:cancel,
 * tasker.workflow_step:update).
 */
import type { BulkAction, BulkRequest } from '../engine/bulk-operations.js';
import { bulkRequestWireSchema } from '../engine/bulk-operations.js';
import { wireJsonSchema } from '../model/contracts.js';
import type { Permission } from './auth.js';
import type { RouteModule } from './context.js';
import { problemResponses } from './schemas.js';

const PERMISSION: Record<BulkAction, Permission> = {
  retry: 'tasker.task:retry',
  resolve: 'tasker.workflow_step:update',
  cancel: 'tasker.task:cancel',
};

const SUMMARY: Record<BulkAction, string> = {
  retry: 'Retry every task whose steps failed for good and match the filter',
  resolve: 'Resolve every step that failed for good and matches the filter, with the given results',
  cancel: 'Cancel every unfinished task matching the filter',
};

const report = {
  type: 'object',
  properties: {
    action: { type: 'string' },
    dryRun: { type: 'boolean' },
    matched: { type: 'integer', description: 'Tasks (retry, cancel) or steps (resolve) the filter matched' },
    changed: { type: 'integer' },
    failed: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
    durationMs: { type: 'integer' },
  },
} as const;

export const bulkRoutes: RouteModule = (app, { tasker }) => {
  const body = wireJsonSchema(bulkRequestWireSchema);
  for (const action of ['retry', 'resolve', 'cancel'] as const) {
    app.post<{ Body: BulkRequest }>(
      `/bulk/${action}`,
      {
        config: { permission: PERMISSION[action] },
        schema: {
          tags: ['bulk'],
          summary: SUMMARY[action],
          body,
          response: { 200: report, ...problemResponses },
        },
      },
      async (request) =>
        tasker.bulk(action, {
          ...request.body,
          // Who asked, when the caller did not say: the authenticated subject, else the client address.
          requestedBy:
            request.body.requestedBy ??
            `${request.ip} (${request.headers['user-agent'] ?? 'unknown client'})`.slice(0, 100),
        }),
    );
  }
};
