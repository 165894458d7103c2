/**
 * Around task creation: a `tasker.task` span per request (when tracing is on) whose context becomes the
 * stored traceparent, and `task.created` events for the tasks really created (not deduplicated ones).
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { CreateTaskRequest } from '../engine/create-tasks.js';
import type { TaskerEventBus } from '../events/tasker-events.js';
import type { CreatedTask } from '../model/types.js';
import type { Tracing } from './tracing.js';

export type CreateMany = (requests: readonly CreateTaskRequest[]) => Promise<CreatedTask[]>;

export function instrumentCreation(
  tracing: Tracing | null,
  events: TaskerEventBus,
): (create: CreateMany) => CreateMany {
  return (create) => async (requests) => {
    const spans = tracing
      ? requests.map((r) =>
          tracing.startTaskSpan({
            namespace: r.namespace ?? 'default',
            name: r.name,
            version: r.version ?? '',
            traceparent: r.traceparent,
          }),
        )
      : null;
    const effective = spans
      ? requests.map((r, i) => ({ ...r, traceparent: spans[i]!.traceparent ?? r.traceparent }))
      : requests;
    let created: CreatedTask[];
    try {
      created = await create(effective);
    } catch (error) {
      for (const { span } of spans ?? []) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        span.end();
      }
      throw error;
    }
    created.forEach((task, i) => {
      const span = spans?.[i]?.span;
      if (span) {
        span.setAttributes({
          'tasker.task.id': task.id,
          'tasker.task.version': task.version,
          'tasker.task.deduplicated': !task.created,
        });
        span.end();
      }
      if (task.created) {
        events.emitFresh('task.created', {
          taskId: task.id,
          namespace: task.namespace,
          name: task.name,
          version: task.version,
          correlationId: requests[i]?.correlationId ?? null,
        });
      }
    });
    return created;
  };
}
