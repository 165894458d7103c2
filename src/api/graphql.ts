/**
 * GraphQL at <prefix>/graphql (mercurius): the same engine calls as REST, each guarded by the same
 * permission as its REST twin. Task.steps is a batched loader: a page of tasks with their steps costs one
 * steps query, not one per task.
 *
 * Queries over the cost limits (depth, aliases, estimated cost, tokens) are refused before they run
 * (graphql-limits.ts).
 *
 * GraphiQL is served by graphiql-routes.ts at <prefix>/graphiql/ from local files (mercurius's own page
 * loads its scripts from a CDN, so it stays off).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import mercurius, { type IResolvers, type MercuriusLoaders } from 'mercurius';
import { translateDatabaseError } from '../db/sql-errors.js';
import type { CreateTaskRequest } from '../engine/create-tasks.js';
import { isTaskerError } from '../errors.js';
import type { Step, Task } from '../model/types.js';
import type { Permission } from './auth.js';
import type { ApiContext } from './context.js';
import { GRAPHQL_PARSE_OPTIONS, graphqlValidationRules, limitErrorFormatter } from './graphql-limits.js';
import { HttpProblem, sendProblem } from './problems.js';

const schema = /* GraphQL */ `
  scalar JSON
  scalar DateTime

  type Task {
    id: Int!
    namespace: String!
    name: String!
    version: String!
    state: String!
    context: JSON
    initiator: String
    sourceSystem: String
    reason: String
    tags: [String!]!
    correlationId: String
    traceparent: String
    requestedAt: DateTime!
    "When the task was asked to start (created with runAt or delayMs); null: at once."
    runAt: DateTime
    "Claim priority of its steps: N is worth N seconds of waiting."
    priority: Int!
    "Its task-scoped concurrency key (group=value)."
    concurrencyKey: String
    "A child task: the task whose step started it."
    parentTaskId: Int
    "A child task: the step that waits for it."
    parentStepId: Int
    stepCount: Int!
    unfinishedSteps: Int!
    failedSteps: Int!
    createdAt: DateTime!
    updatedAt: DateTime!
    startedAt: DateTime
    completedAt: DateTime
    "When retention moved it into the archive (read-only from then on); null: live."
    archivedAt: DateTime
    steps: [Step!]!
    transitions: [TaskTransition!]!
  }

  type SignalSent {
    signalId: Int!
    taskId: Int!
    name: String!
  }

  type Step {
    id: Int!
    taskId: Int!
    name: String!
    position: Int!
    state: String!
    attempts: Int!
    totalAttempts: Int!
    retryLimit: Int!
    retryable: Boolean!
    timeoutMs: Int
    skippable: Boolean!
    blocked: Boolean!
    parentIds: [Int!]!
    childIds: [Int!]!
    inputs: JSON
    results: JSON
    lastError: JSON
    runAt: DateTime
    "The concurrency key whose slot this ready step waits for."
    waitingForKey: String
    "When its current wait for a concurrency slot or rate-limit tokens began."
    throttledAt: DateTime
    "A batch worker: the batch step that created it."
    batchParentId: Int
    "A batch worker: its item's place in the batch (from 0)."
    batchIndex: Int
    "A compensation step created when the task failed: undo or on_failure."
    compensation: String
    "What a waiting step waits for ({for, since, until, name, taskId, pending}); null: it does not wait."
    waiting: JSON
    lastAttemptedAt: DateTime
    completedAt: DateTime
    workerId: String
    "The worker's name (host:pid unless it was given one)."
    workerName: String
    "The state as shown to people: blocked for a pending step below a step that failed for good."
    displayState: String!
    "The display state in words, e.g. 'blocked by a failed step'."
    stateLabel: String!
    createdAt: DateTime!
    updatedAt: DateTime!
    transitions: [StepTransition!]!
  }

  type TaskTransition {
    taskId: Int!
    sortKey: Int!
    fromState: String
    toState: String!
    metadata: JSON
    createdAt: DateTime!
    mostRecent: Boolean!
  }

  type StepTransition {
    stepId: Int!
    taskId: Int!
    stepName: String!
    "The worker an attempt started on, by name."
    workerName: String
    sortKey: Int!
    fromState: String
    toState: String!
    metadata: JSON
    createdAt: DateTime!
    mostRecent: Boolean!
  }

  type TaskPage {
    items: [Task!]!
    nextCursor: String
  }

  type TemplateStep {
    name: String!
    dependsOn: [String!]!
    retryable: Boolean!
    retryLimit: Int!
    timeoutMs: Int
    skippable: Boolean!
  }

  type Template {
    namespace: String!
    name: String!
    version: String!
    description: String
    contextSchema: JSON
    steps: [TemplateStep!]!
  }

  type Namespace {
    namespace: String!
    templates: [Template!]!
  }

  enum TaskSort {
    CREATED_AT_ASC
    CREATED_AT_DESC
  }

  input CreateTaskInput {
    namespace: String
    name: String!
    version: String
    context: JSON
    initiator: String
    sourceSystem: String
    reason: String
    tags: [String!]
    bypassSteps: [String!]
    idempotencyKey: String
    correlationId: String
    requestedAt: DateTime
    traceparent: String
    "Start no step before this time (a delayed task)."
    runAt: DateTime
    "Start no step before this many ms from now (not with runAt)."
    delayMs: Int
    "Claim priority of its steps: N is worth N seconds of waiting (default: the template's)."
    priority: Int
  }

  "Which tasks a listing reads: active (unfinished), recent (finished, live), archived, or all."
  enum TaskTier {
    active
    recent
    archived
    all
  }

  type Query {
    tasks(
      state: [String!]
      "Default: active and recent (docs/operations.md#archiving)."
      tier: [TaskTier!]
      namespace: String
      name: String
      version: String
      tag: String
      "Only the child tasks of this task."
      parentTaskId: Int
      createdAfter: DateTime
      createdBefore: DateTime
      sort: TaskSort
      limit: Int
      cursor: String
    ): TaskPage!
    task(id: Int!): Task
    step(id: Int!): Step
    handlers(namespace: String): [Namespace!]!
    taskTransitions(taskId: Int!): [TaskTransition!]!
    stepTransitions(stepId: Int!): [StepTransition!]!
    "Steps that failed for good, grouped by fingerprint, largest group first (docs/diagnostics.md)."
    failures(since: DateTime, namespace: String, limit: Int): [FailureGroup!]!
    "Every schedule with its next fire times."
    schedules(upcoming: Int): [Schedule!]!
    "One schedule (null when there is none by that name)."
    schedule(name: String!, upcoming: Int): Schedule
    "The failed steps of one failure group, newest first."
    failedSteps(fingerprint: String!, since: DateTime, namespace: String, limit: Int): [FailedStep!]!
  }

  input ScheduleInput {
    name: String!
    "NAMESPACE/NAME[@VERSION]"
    task: String!
    cron: String
    intervalMs: Int
    timezone: String
    context: JSON
    "skip, once or all"
    catchUp: String
    catchUpLimit: Int
    paused: Boolean
  }

  type ScheduleFire {
    tickAt: DateTime!
    taskId: Int
    firedAt: DateTime!
    manual: Boolean!
  }

  type Schedule {
    name: String!
    task: String!
    cron: String
    intervalMs: Int
    timezone: String!
    context: JSON!
    catchUp: String!
    catchUpLimit: Int!
    paused: Boolean!
    nextFireAt: DateTime
    upcoming: [DateTime!]!
    lastFiredAt: DateTime
    lastTaskId: Int
    fires: Int!
    skippedTicks: Int!
    source: String!
    createdAt: DateTime!
  }

  type FailureTemplateStep {
    namespace: String!
    name: String!
    version: String!
    step: String!
  }

  type FailureGroup {
    fingerprint: String!
    "timeout, connection_refused, connection_reset, dns, tls, network, rate_limited, http_4xx, http_5xx, validation, handler_bug, lease_expired, cancelled, permanent, unknown"
    category: String!
    steps: Int!
    tasks: Int!
    firstSeen: DateTime!
    lastSeen: DateTime!
    affected: [FailureTemplateStep!]!
    sample: JSON!
    sampleTaskId: Int!
    sampleStepId: Int!
    "Steps failing with it right now, waiting to retry."
    retryingNow: Int!
    "Steps that failed with it over the last 7 days: per attempt (from 2), how many reached it and succeeded there."
    retryStats: [AttemptStats!]!
    hint: String!
    hintRule: String!
  }

  type AttemptStats {
    attempt: Int!
    reached: Int!
    succeeded: Int!
  }

  type FailedStep {
    stepId: Int!
    taskId: Int!
    namespace: String!
    name: String!
    version: String!
    step: String!
    attempts: Int!
    failedAt: DateTime!
    error: JSON!
  }

  type Mutation {
    createTask(input: CreateTaskInput!): Task!
    cancelTask(id: Int!, reason: String): Task!
    "Send a named signal with a payload to a task; a step waiting for it ends its wait (docs/workflows.md)."
    signalTask(id: Int!, name: String!, payload: JSON): SignalSent!
    retryTask(id: Int!, reason: String): Task!
    updateStep(id: Int!, retryLimit: Int, inputs: JSON): Step!
    cancelStep(id: Int!, reason: String): Step!
    retryStep(id: Int!, reason: String): Step!
    resolveStep(id: Int!, results: JSON, reason: String): Step!
    "Adds a schedule, or changes the one with that name (docs/schedules.md)."
    addSchedule(input: ScheduleInput!): Schedule!
    pauseSchedule(name: String!): Schedule!
    resumeSchedule(name: String!): Schedule!
    removeSchedule(name: String!): Boolean!
    "Creates the schedule's task now; returns the task."
    runSchedule(name: String!): Task!
  }
`;

function literal(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      return undefined;
  }
}

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (node, variables) => literal(node, variables),
});

const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An ISO 8601 date-time',
  serialize: (v) => (v instanceof Date ? v.toISOString() : v),
  parseValue: (v) => {
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
      throw new GraphQLError('expected an ISO 8601 date-time');
    return v;
  },
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING || Number.isNaN(Date.parse(node.value))) {
      throw new GraphQLError('expected an ISO 8601 date-time');
    }
    return node.value;
  },
});

/** GraphQL passes absent optional arguments as undefined or null; the library's filters want them left out. */
function definedOnly<T extends Record<string, unknown>>(args: T): T {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined && v !== null)) as T;
}

interface GqlContext {
  reply: { request: FastifyRequest };
}

/** Engine and access errors as GraphQL errors with the REST code and status in `extensions`. */
function toGraphQLError(raw: unknown): unknown {
  // A database that cannot be reached becomes TASKER_DATABASE_UNAVAILABLE (503), as on REST.
  const error = translateDatabaseError(raw);
  if (error instanceof HttpProblem || isTaskerError(error)) {
    const status = error instanceof HttpProblem ? error.status : error.status;
    const details = isTaskerError(error) ? error.details : error.errors;
    return new mercurius.ErrorWithProps(
      error.message,
      {
        code: error.code,
        status,
        ...(details ? { errors: details } : {}),
        ...(isTaskerError(error) && error.existingTaskId !== undefined
          ? { existingTaskId: error.existingTaskId }
          : {}),
      },
      status,
    );
  }
  return error;
}

export async function graphqlRoutes(
  app: FastifyInstance,
  { tasker, access, options }: ApiContext,
): Promise<void> {
  const guard =
    <A, R>(permission: Permission, fn: (args: A, request: FastifyRequest) => Promise<R> | R) =>
    async (_root: unknown, args: A, context: GqlContext): Promise<R> => {
      try {
        await access.check(context.reply.request, permission);
        return await fn(args, context.reply.request);
      } catch (error) {
        throw toGraphQLError(error);
      }
    };
  const bareTask = (id: number): Promise<Task> => tasker.getTaskSummary(id);
  const maxLimit = options.graphql.maxLimit;

  const resolvers: IResolvers = {
    JSON: JSONScalar,
    DateTime: DateTimeScalar,
    Query: {
      tasks: guard(
        'tasker.task:index',
        async (args: {
          state?: string[];
          tier?: Array<'active' | 'recent' | 'archived' | 'all'>;
          namespace?: string;
          name?: string;
          version?: string;
          tag?: string;
          createdAfter?: string;
          createdBefore?: string;
          sort?: 'CREATED_AT_ASC' | 'CREATED_AT_DESC';
          limit?: number;
          cursor?: string;
        }) => {
          if (args.limit !== undefined && (args.limit < 1 || args.limit > maxLimit)) {
            throw new HttpProblem(400, 'TASKER_INVALID_REQUEST', `limit must be between 1 and ${maxLimit}`, [
              { path: 'limit', message: `expected 1-${maxLimit}` },
            ]);
          }
          const { sort, state, tier, ...filter } = args;
          const page = await tasker.listTasks({
            ...filter,
            state: state as never,
            ...(tier && tier.length > 0 ? { tier } : {}),
            order: sort === 'CREATED_AT_ASC' ? 'asc' : 'desc',
          });
          return { items: page.tasks, nextCursor: page.nextCursor };
        },
      ),
      schedules: guard('tasker.schedule:index', ({ upcoming }: { upcoming?: number | null }) =>
        tasker.listSchedules(upcoming == null ? {} : { upcoming }),
      ),
      schedule: guard(
        'tasker.schedule:show',
        async ({ name, upcoming }: { name: string; upcoming?: number | null }) => {
          try {
            return await tasker.getSchedule(name, upcoming == null ? {} : { upcoming });
          } catch (error) {
            if (isTaskerError(error, 'TASKER_SCHEDULE_NOT_FOUND')) return null;
            throw error;
          }
        },
      ),
      failures: guard(
        'tasker.analytics:index',
        (args: { since?: string; namespace?: string; limit?: number }) => tasker.failures(definedOnly(args)),
      ),
      failedSteps: guard(
        'tasker.analytics:index',
        ({
          fingerprint,
          ...args
        }: {
          fingerprint: string;
          since?: string;
          namespace?: string;
          limit?: number;
        }) => tasker.failedSteps(fingerprint, definedOnly(args)),
      ),
      task: guard('tasker.task:show', async ({ id }: { id: number }) => {
        try {
          return await tasker.getTask(id);
        } catch (error) {
          if (isTaskerError(error, 'TASKER_TASK_NOT_FOUND')) return null;
          throw error;
        }
      }),
      step: guard('tasker.workflow_step:show', async ({ id }: { id: number }) => {
        try {
          return await tasker.getStep(id);
        } catch (error) {
          if (isTaskerError(error, 'TASKER_STEP_NOT_FOUND')) return null;
          throw error;
        }
      }),
      handlers: guard('tasker.handler:index', ({ namespace }: { namespace?: string }) => {
        const groups = new Map<string, ReturnType<typeof tasker.templates>>();
        for (const t of tasker.templates()) {
          if (namespace === undefined || namespace === null || t.namespace === namespace) {
            groups.set(t.namespace, [...(groups.get(t.namespace) ?? []), t]);
          }
        }
        return [...groups.entries()].map(([ns, templates]) => ({ namespace: ns, templates }));
      }),
      taskTransitions: guard('tasker.task:show', ({ taskId }: { taskId: number }) =>
        tasker.getTaskTransitions(taskId),
      ),
      stepTransitions: guard('tasker.workflow_step:show', ({ stepId }: { stepId: number }) =>
        tasker.getStepTransitions(stepId),
      ),
    },
    Mutation: {
      addSchedule: guard('tasker.schedule:create', ({ input }: { input: Record<string, unknown> }) =>
        tasker.addSchedule(definedOnly(input) as never),
      ),
      pauseSchedule: guard('tasker.schedule:update', ({ name }: { name: string }) =>
        tasker.pauseSchedule(name),
      ),
      resumeSchedule: guard('tasker.schedule:update', ({ name }: { name: string }) =>
        tasker.resumeSchedule(name),
      ),
      removeSchedule: guard('tasker.schedule:destroy', async ({ name }: { name: string }) => {
        await tasker.removeSchedule(name);
        return true;
      }),
      runSchedule: guard('tasker.schedule:run', async ({ name }: { name: string }) =>
        bareTask((await tasker.runScheduleNow(name)).id),
      ),
      createTask: guard('tasker.task:create', async ({ input }: { input: CreateTaskRequest }, request) => {
        const clean = Object.fromEntries(
          Object.entries(input).filter(([, v]) => v !== null),
        ) as CreateTaskRequest;
        const created = await tasker.createTask({
          ...clean,
          correlationId: clean.correlationId ?? request.correlationId,
        });
        return bareTask(created.id);
      }),
      signalTask: guard(
        'tasker.task:update',
        async ({ id, name, payload }: { id: number; name: string; payload?: unknown }) => {
          const { signalId } = await tasker.signal(id, name, payload ?? null);
          return { signalId, taskId: id, name };
        },
      ),
      cancelTask: guard(
        'tasker.task:cancel',
        async ({ id, reason }: { id: number; reason?: string | null }) => {
          await tasker.cancelTask(id, { reason: reason ?? undefined });
          return bareTask(id);
        },
      ),
      retryTask: guard(
        'tasker.task:retry',
        async ({ id, reason }: { id: number; reason?: string | null }) => {
          await tasker.retryTask(id, { reason: reason ?? undefined });
          return bareTask(id);
        },
      ),
      updateStep: guard(
        'tasker.workflow_step:update',
        async (args: { id: number; retryLimit?: number | null; inputs?: unknown }) => {
          await tasker.updateStep(args.id, {
            ...(args.retryLimit !== undefined && args.retryLimit !== null
              ? { retryLimit: args.retryLimit }
              : {}),
            ...(Object.hasOwn(args, 'inputs') ? { inputs: args.inputs } : {}),
          });
          return tasker.getStep(args.id);
        },
      ),
      cancelStep: guard(
        'tasker.workflow_step:cancel',
        async ({ id, reason }: { id: number; reason?: string | null }) => {
          await tasker.cancelStep(id, { reason: reason ?? undefined });
          return tasker.getStep(id);
        },
      ),
      retryStep: guard(
        'tasker.workflow_step:retry',
        async ({ id, reason }: { id: number; reason?: string | null }) => {
          await tasker.retryStep(id, { reason: reason ?? undefined });
          return tasker.getStep(id);
        },
      ),
      resolveStep: guard(
        'tasker.workflow_step:update',
        async ({ id, results, reason }: { id: number; results?: unknown; reason?: string | null }) => {
          await tasker.resolveStep(id, results ?? null, { reason: reason ?? undefined });
          return tasker.getStep(id);
        },
      ),
    },
    Step: {
      async transitions(step: Step, _args: unknown, context: GqlContext) {
        try {
          await access.check(context.reply.request, 'tasker.workflow_step:show');
          return await tasker.getStepTransitions(step.id);
        } catch (error) {
          throw toGraphQLError(error);
        }
      },
    },
  };

  const loaders: MercuriusLoaders = {
    Task: {
      // One query for the steps of every task in the result.
      async steps(queries: Array<{ obj: Task & { steps?: Step[] } }>, context: GqlContext) {
        try {
          await access.check(context.reply.request, 'tasker.workflow_step:index');
          const missing = queries.filter((q) => !q.obj.steps).map((q) => q.obj.id);
          const steps = await tasker.getStepsOfTasks(missing);
          const byTask = new Map<number, Step[]>();
          for (const s of steps) byTask.set(s.taskId, [...(byTask.get(s.taskId) ?? []), s]);
          return queries.map((q) => q.obj.steps ?? byTask.get(q.obj.id) ?? []);
        } catch (error) {
          throw toGraphQLError(error);
        }
      },
      async transitions(queries: Array<{ obj: Task }>, context: GqlContext) {
        try {
          await access.check(context.reply.request, 'tasker.task:show');
          return await Promise.all(queries.map((q) => tasker.getTaskTransitions(q.obj.id)));
        } catch (error) {
          throw toGraphQLError(error);
        }
      },
    },
  };

  // Unauthenticated requests get a 401 problem before any GraphQL runs; permissions are per field (403
  // in the error's extensions).
  if (access.enabled) {
    // Answered here: mercurius's own error handler would wrap a thrown error in a GraphQL response.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.routeOptions.url?.endsWith('/graphql')) return;
      try {
        await access.authenticate(request, false);
      } catch (error) {
        return sendProblem(request, reply, error);
      }
    });
  }
  await app.register(mercurius, {
    schema,
    resolvers,
    loaders,
    path: '/graphql',
    graphiql: false,
    context: (_request, reply) => ({ reply }),
    // Cost limits, checked before anything runs (graphql-limits.ts). They depend on the variables, which
    // mercurius's cache of validated queries does not key on: validation runs for every request.
    validationRules: graphqlValidationRules(options.graphql),
    cache: false,
    graphql: { parseOptions: GRAPHQL_PARSE_OPTIONS },
    errorFormatter: limitErrorFormatter,
  });
}
