/**
 * Creating tasks: each request is checked (its fields, its template, its context against the template's
 * schema, the steps it bypasses) before anything is written, then written with its steps in one
 * transaction. Concurrent createTask calls are coalesced: the calls that arrive while a write is in
 * flight go together in the next one (one statement per template), so creating tasks one call at a time
 * costs few commits under load and one round trip when idle. The write of a lone call also claims for a
 * worker of this process that serves the template and has room (create_tasks_and_claim, migration 40): on
 * an idle system a new task's first step starts without a wake-up and a second round trip. What a duplicate
 * request gets depends on the template's identity strategy (identity.ts): the existing task, or
 * TASKER_DUPLICATE_TASK.
 */
import type { Queryable } from '../db/database.js';
import { isTransientDatabaseError } from '../db/sql-errors.js';
import type { ContextValidator } from '../definitions/context-validator.js';
import type { TemplateRegistry } from '../definitions/registry.js';
import type { TaskTemplate } from '../definitions/types.js';
import { formatProblems, type Problem, TaskerError } from '../errors.js';
import { type CreateTaskRequest, createTaskRequestSchema } from '../model/contracts.js';
import { flowOf } from '../model/flow-control.js';
import type { TaskState } from '../model/states.js';
import type { CreatedTask } from '../model/types.js';
import { zodProblems } from '../parse-or-throw.js';
import { type IdentityStrategy, identityKey } from './identity.js';
import { createTasksAndClaim, type DispatchRow } from './sql/dispatch-queries.js';
import type { SqlContext } from './sql/sql-context.js';

// The request's contract lives in model/contracts.ts, shared with the REST and GraphQL surfaces.
export { type CreateTaskRequest, createTaskRequestSchema };

/** A request checked and ready to insert. */
interface PreparedTask {
  readonly template: TaskTemplate;
  readonly row: Record<string, unknown>;
  /** Under `strict`, a duplicate is refused rather than answered with the existing task. */
  readonly refuseDuplicate: boolean;
}

/**
 * Room a worker of this process lends to a createTask write, which claims into it (migration 40); reserved
 * by the worker until settled.
 */
export interface ClaimLoan {
  readonly workerId: string;
  /** Most steps the write may claim. */
  readonly limit: number;
  /** The templates the worker serves. */
  readonly namedTaskIds: readonly number[];
  /** The write came back with these rows (the worker takes the claimed ones), or failed (null). */
  settle(rows: readonly DispatchRow[] | null): void;
}

/** What create_tasks returns for a request. */
interface CreatedRow {
  readonly ord: number;
  readonly task_id: number;
  readonly created: boolean;
  readonly state: TaskState;
}

export interface TaskCreatorDeps {
  readonly sql: SqlContext;
  readonly registry: TemplateRegistry;
  readonly validator: ContextValidator;
  /** For templates that do not choose their own. */
  readonly identityStrategy: IdentityStrategy;
  /** The stored id of a template (stored on first use). */
  readonly templateId: (template: TaskTemplate) => Promise<number>;
  /** Writes in flight at once. */
  readonly maxConcurrentWrites: number;
  /** Most tasks per statement. */
  readonly maxBatchSize: number;
  /** The free room of a worker of this process that serves the template, lent to a write; or null. */
  readonly lendClaim?: (namedTaskId: number) => ClaimLoan | null;
}

export interface TaskCreator {
  /** Checks a request; returns the problems (empty when it can be created). */
  prepare(request: unknown, pathPrefix?: string): PreparedTask | Problem[];
  createTask(request: CreateTaskRequest): Promise<CreatedTask>;
  /** All or nothing: if any request is invalid, nothing is written and every problem is reported. */
  createTasks(requests: readonly CreateTaskRequest[]): Promise<CreatedTask[]>;
  /**
   * For a caller that writes tasks inside its own transaction (the scheduler): checks the requests
   * (throwing every problem at once) and stores their templates now, outside that transaction, since on
   * PGlite the transaction holds the only connection.
   */
  prepareTasks(requests: readonly CreateTaskRequest[]): Promise<PreparedTasks>;
  /** Writes prepared tasks on the caller's transaction; a duplicate comes back with `created: false`. */
  insertPrepared(tx: Queryable, prepared: PreparedTasks): Promise<CreatedTask[]>;
}

/** Requests checked by prepareTasks, ready for insertPrepared. */
export interface PreparedTasks {
  readonly tasks: readonly PreparedTask[];
}

export function createTaskCreator(deps: TaskCreatorDeps): TaskCreator {
  const { sql, registry, validator } = deps;

  function prepare(request: unknown, prefix = ''): PreparedTask | Problem[] {
    const at = (path: string) => (prefix ? (path ? `${prefix}.${path}` : prefix) : path);
    const parsed = createTaskRequestSchema.safeParse(request);
    if (!parsed.success) return zodProblems(parsed.error, prefix);
    const r = parsed.data;
    const template = registry.find(r.namespace ?? 'default', r.name, r.version);
    if (!template) {
      try {
        registry.get(r.namespace ?? 'default', r.name, r.version);
      } catch (error) {
        return [{ path: at('name'), message: (error as Error).message }];
      }
    }
    const t = template!;
    const problems: Problem[] = [];
    const checked = validator.check(t, r.context ?? {});
    if (!checked.ok) {
      for (const p of checked.problems)
        problems.push({ path: at(`context${p.path === '/' ? '' : p.path}`), message: p.message });
    }
    const bypassPositions: number[] = [];
    (r.bypassSteps ?? []).forEach((stepName, i) => {
      const step = t.steps.find((s) => s.name === stepName);
      const path = at(`bypassSteps[${i}]`);
      if (!step) problems.push({ path, message: `${t.fullName} has no step "${stepName}"` });
      else if (step.kind === 'compensation') {
        problems.push({
          path,
          message: `step "${stepName}" is a compensation step: it runs only when the task fails`,
        });
      } else if (!step.skippable) {
        problems.push({
          path,
          message: `step "${stepName}" is not skippable; mark it skippable: true to allow bypassing it`,
        });
      } else if (!bypassPositions.includes(step.position)) bypassPositions.push(step.position);
    });
    if (bypassPositions.length === t.steps.filter((s) => s.kind !== 'compensation').length) {
      problems.push({ path: at('bypassSteps'), message: 'cannot bypass every step of a task' });
    }
    if (r.runAt !== undefined && r.delayMs !== undefined) {
      problems.push({ path: at('delayMs'), message: 'give runAt or delayMs, not both' });
    }
    const strategy = t.identityStrategy ?? deps.identityStrategy;
    if (strategy === 'caller_provided' && r.idempotencyKey === undefined) {
      problems.push({
        path: at('idempotencyKey'),
        message: `required: ${t.fullName} uses the caller_provided identity strategy (the key decides which requests are the same)`,
      });
    }
    const flow = checked.ok ? flowOf(t, checked.context, r.priority, at) : [];
    if (Array.isArray(flow)) problems.push(...flow);
    if (problems.length > 0 || !checked.ok || Array.isArray(flow)) return problems;
    const requestedAt = r.requestedAt === undefined ? new Date() : new Date(r.requestedAt);
    const runAt =
      r.runAt !== undefined
        ? new Date(r.runAt)
        : r.delayMs !== undefined
          ? new Date(Date.now() + r.delayMs)
          : null;
    return {
      template: t,
      refuseDuplicate: strategy === 'strict',
      row: {
        context: checked.context,
        initiator: r.initiator ?? null,
        source_system: r.sourceSystem ?? null,
        reason: r.reason ?? null,
        tags: r.tags ?? [],
        bypass_steps: r.bypassSteps ?? [],
        bypass_positions: bypassPositions,
        requested_at: requestedAt.toISOString(),
        identity_key: identityKey(t, strategy, r, checked.context, requestedAt),
        correlation_id: r.correlationId ?? null,
        traceparent: r.traceparent ?? null,
        run_at: runAt?.toISOString() ?? null,
        ...flow,
      },
    };
  }

  function invalid(problems: Problem[], what: string): TaskerError {
    const contextOnly = problems.every((p) => /^(\[\d+\]\.)?context(\/|$)/.test(p.path));
    return new TaskerError(
      contextOnly ? 'TASKER_INVALID_CONTEXT' : 'TASKER_INVALID_REQUEST',
      `invalid ${what}:\n${formatProblems(problems)}`,
      { details: problems },
    );
  }

  /**
   * The error for requests the strict strategy refuses. `duplicates` pairs a request's index in the call
   * (null for a single request) with what the database returned for it: the task it duplicates.
   * `sameCall` maps ids created earlier in the same call (and rolled back with it) to their index.
   */
  function duplicate(
    duplicates: ReadonlyArray<readonly [number | null, CreatedTask]>,
    sameCall: ReadonlyMap<number, number> = new Map(),
  ): TaskerError {
    const [, first] = duplicates[0]!;
    const what = `${first.namespace}.${first.name}`;
    const details = duplicates.map(([index, existing]) => {
      const earlier = sameCall.get(existing.id);
      return {
        path: index === null ? '' : `[${index}]`,
        message:
          earlier === undefined
            ? `duplicates task ${existing.id} (${what} uses the strict identity strategy)`
            : `duplicates request [${earlier}] of the same call (${what} uses the strict identity strategy)`,
      };
    });
    const existing = duplicates.find(([, d]) => !sameCall.has(d.id))?.[1];
    const single = duplicates.length === 1 && duplicates[0]![0] === null;
    return new TaskerError(
      'TASKER_DUPLICATE_TASK',
      single
        ? `task ${first.id} already exists for this request (${what} uses the strict identity strategy: the same context, or the same idempotency key, is the same task)`
        : `${duplicates.length === 1 ? 'a request duplicates' : `${duplicates.length} requests duplicate`} another task; nothing was created (${what} uses the strict identity strategy):\n${formatProblems(details)}`,
      { ...(single ? {} : { details }), ...(existing ? { existingTaskId: existing.id } : {}) },
    );
  }

  /** Inserts prepared tasks, one statement per template, on `q` (a transaction or the pool). */
  async function insert(
    q: Queryable,
    tasks: readonly PreparedTask[],
    /** The write of a lone createTask (one task, so one template): claim for a local worker with room. */
    claim = false,
  ): Promise<CreatedTask[]> {
    const results = new Array<CreatedTask>(tasks.length);
    const byTemplate = new Map<TaskTemplate, number[]>();
    tasks.forEach((t, i) => {
      const list = byTemplate.get(t.template) ?? [];
      list.push(i);
      byTemplate.set(t.template, list);
    });
    for (const [template, indexes] of byTemplate) {
      const namedTaskId = await deps.templateId(template);
      const json = JSON.stringify(indexes.map((i) => tasks[i]!.row));
      const loan = claim ? (deps.lendClaim?.(namedTaskId) ?? null) : null;
      const rows = loan
        ? await createAndClaim(q, namedTaskId, json, loan)
        : await create(q, namedTaskId, json);
      for (const row of rows) {
        results[indexes[row.ord - 1]!] = {
          id: row.task_id,
          namespace: template.namespace,
          name: template.name,
          version: template.version,
          state: row.state,
          created: row.created,
        };
      }
    }
    return results;
  }

  async function create(q: Queryable, namedTaskId: number, json: string): Promise<CreatedRow[]> {
    const { rows } = await q.query<CreatedRow>(`SELECT * FROM ${sql.schema}.create_tasks($1, $2)`, [
      namedTaskId,
      json,
    ]);
    return rows;
  }

  async function createAndClaim(
    q: Queryable,
    namedTaskId: number,
    json: string,
    loan: ClaimLoan,
  ): Promise<CreatedRow[]> {
    let rows: DispatchRow[];
    try {
      rows = await createTasksAndClaim(
        q,
        sql.schema,
        namedTaskId,
        json,
        loan.workerId,
        loan.limit,
        loan.namedTaskIds,
      );
    } catch (error) {
      loan.settle(null);
      throw error;
    }
    loan.settle(rows);
    return rows.flatMap((row) =>
      row.kind === 'created' || row.kind === 'existing'
        ? [
            {
              ord: row.attempt!,
              task_id: row.task_id!,
              created: row.kind === 'created',
              state: row.state as TaskState,
            },
          ]
        : [],
    );
  }

  // --- coalescing of concurrent createTask calls
  interface Waiter {
    readonly task: PreparedTask;
    resolve(created: CreatedTask): void;
    reject(error: unknown): void;
  }
  let queue: Waiter[] = [];
  let writing = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || writing >= deps.maxConcurrentWrites || queue.length === 0) return;
    scheduled = true;
    // Let calls made in the same tick join this batch.
    queueMicrotask(() => {
      scheduled = false;
      void write();
    });
  }

  function settle(w: Waiter, created: CreatedTask): void {
    if (!created.created && w.task.refuseDuplicate) w.reject(duplicate([[null, created]]));
    else w.resolve(created);
  }

  async function write(): Promise<void> {
    if (writing >= deps.maxConcurrentWrites || queue.length === 0) return;
    const batch = queue.slice(0, deps.maxBatchSize);
    queue = queue.slice(batch.length);
    writing++;
    // Claims for a local worker only for a lone createTask (this write alone, of one task, nobody
    // waiting): under a stream of calls a claim in a write costs more than the worker's own claims, which
    // take many tasks' steps at a time, and holds up every call of the batch meanwhile.
    const claim = writing === 1 && queue.length === 0 && batch.length === 1;
    try {
      const created = await insert(
        sql.db,
        batch.map((w) => w.task),
        claim,
      );
      for (const [i, w] of batch.entries()) settle(w, created[i]!);
    } catch (error) {
      if (batch.length > 1 && !isTransientDatabaseError(error)) {
        // One bad row must not fail the others: write them one by one.
        for (const w of batch) {
          try {
            settle(w, (await insert(sql.db, [w.task]))[0]!);
          } catch (single) {
            w.reject(single);
          }
        }
      } else {
        for (const w of batch) w.reject(error);
      }
    } finally {
      writing--;
      schedule();
    }
  }

  return {
    prepare,

    createTask(request) {
      const prepared = prepare(request);
      if (Array.isArray(prepared)) return Promise.reject(invalid(prepared, 'task request'));
      return new Promise<CreatedTask>((resolve, reject) => {
        queue.push({ task: prepared, resolve, reject });
        schedule();
      });
    },

    async prepareTasks(requests) {
      const prepared: PreparedTask[] = [];
      const problems: Problem[] = [];
      requests.forEach((request, i) => {
        const p = prepare(request, requests.length === 1 ? '' : `[${i}]`);
        if (Array.isArray(p)) problems.push(...p);
        else prepared.push(p);
      });
      if (problems.length > 0)
        throw invalid(problems, requests.length === 1 ? 'task request' : 'task requests');
      for (const template of new Set(prepared.map((p) => p.template))) await deps.templateId(template);
      return { tasks: prepared };
    },

    insertPrepared: (tx, prepared) => insert(tx, prepared.tasks),

    async createTasks(requests) {
      if (!Array.isArray(requests)) {
        throw new TaskerError('TASKER_INVALID_REQUEST', 'createTasks expects an array of task requests');
      }
      const prepared: PreparedTask[] = [];
      const problems: Problem[] = [];
      requests.forEach((request, i) => {
        const p = prepare(request, `[${i}]`);
        if (Array.isArray(p)) problems.push(...p);
        else prepared.push(p);
      });
      if (problems.length > 0) throw invalid(problems, 'task requests');
      if (prepared.length === 0) return [];
      // Templates are stored before the transaction opens: storing one uses the pool, and PGlite has a
      // single connection, which the open transaction would hold.
      for (const template of new Set(prepared.map((p) => p.template))) await deps.templateId(template);
      // One transaction for the whole call, in statements of at most maxBatchSize tasks.
      return sql.db.transaction(async (tx) => {
        const created: CreatedTask[] = [];
        for (let i = 0; i < prepared.length; i += deps.maxBatchSize) {
          created.push(...(await insert(tx, prepared.slice(i, i + deps.maxBatchSize))));
        }
        // All or nothing, duplicates included: throwing rolls back the tasks created above.
        const refused = created
          .map((c, i) => [i, c] as const)
          .filter(([i, c]) => !c.created && prepared[i]!.refuseDuplicate);
        if (refused.length > 0) {
          const sameCall = new Map(created.flatMap((c, i) => (c.created ? [[c.id, i] as const] : [])));
          throw duplicate(refused, sameCall);
        }
        return created;
      });
    },
  };
}
