/**
 * A typed REST client for a Tasker served elsewhere (`tasker-ts/client`): create tasks, read and list
 * them, wait for them to finish, cancel, retry and signal them. Its types are generated from the server's
 * OpenAPI document (openapi.generated.ts), so they are the API's own. It needs only `fetch` (Node 20+,
 * browsers) and imports nothing of the engine.
 *
 * @example
 * const tasker = createTaskerClient({ baseUrl: 'http://orders.internal:3000/tasker', token: process.env.TASKER_TOKEN });
 * const task = await tasker.createTask({ namespace: 'shop', name: 'order', context: { orderId: 7 } });
 * const done = await tasker.waitForTask(task.id, { timeoutMs: 60_000 });
 */
import type { components, paths } from './openapi.generated.js';

export type { components, paths };

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Task = components['schemas']['Task'];
export type Step = components['schemas']['Step'];
export type Problem = components['schemas']['Problem'];
/** A task with its steps, as `GET /tasks/:id` returns it. */
export type TaskWithSteps = Json<paths['/tasker/tasks/{id}']['get']['responses'][200]>;
export type CreateTaskBody = Json<paths['/tasker/tasks']['post']['requestBody']>;
export type ListTasksQuery = NonNullable<paths['/tasker/tasks']['get']['parameters']['query']>;
export type TaskPage = Json<paths['/tasker/tasks']['get']['responses'][200]>;
export type SignalResult = Json<paths['/tasker/tasks/{id}/signals/{name}']['post']['responses'][202]>;

/** States a task does not leave by itself. */
const FINISHED = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);

/** The API answered with an error: its status and its problem details (RFC 9457) when it sent them. */
export class TaskerApiError extends Error {
  readonly status: number;
  /** The problem's code, e.g. TASKER_TASK_NOT_FOUND (docs/api.md#every-code); null when none came. */
  readonly code: string | null;
  readonly problem: Problem | null;
  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem ? `${problem.title}: ${problem.detail}` : fallback);
    this.name = 'TaskerApiError';
    this.status = status;
    this.code = problem?.code ?? null;
    this.problem = problem;
  }
}

export interface TaskerClientOptions {
  /** The API's base address, its prefix included: `http://host:3000/tasker`. */
  readonly baseUrl: string;
  /** A bearer token (when the server checks them), or a function returning the current one. */
  readonly token?: string | (() => string | Promise<string>);
  /** Headers sent with every request (e.g. a correlation id). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch to use. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface TaskerClient {
  createTask(body: CreateTaskBody): Promise<Task>;
  getTask(id: number): Promise<TaskWithSteps>;
  listTasks(query?: ListTasksQuery): Promise<TaskPage>;
  cancelTask(id: number, reason?: string): Promise<Task>;
  retryTask(id: number, reason?: string): Promise<Task>;
  /** Sends a named signal to a task (docs/workflows.md#durable-waits). */
  signal(taskId: number, name: string, payload?: unknown): Promise<SignalResult>;
  /**
   * Polls the task until it is finished (complete, error, cancelled or resolved by hand) and returns it;
   * throws a TaskerApiError with code TASKER_WAIT_TIMEOUT (status 0) after `timeoutMs`.
   */
  waitForTask(id: number, options?: { timeoutMs?: number; intervalMs?: number }): Promise<TaskWithSteps>;
}

export function createTaskerClient(options: TaskerClientOptions): TaskerClient {
  if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) {
    throw new TypeError(
      'createTaskerClient: baseUrl must be an http(s) address, e.g. http://host:3000/tasker',
    );
  }
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? globalThis.fetch;

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    const response = await fetchFn(`${base}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed: unknown = text ? safeParse(text) : null;
    if (!response.ok) {
      const problem = parsed && typeof parsed === 'object' && 'code' in parsed ? (parsed as Problem) : null;
      throw new TaskerApiError(response.status, problem, `${method} ${path}: HTTP ${response.status}`);
    }
    return parsed as T;
  }

  const id = (value: number) => {
    if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`expected a task id, got ${value}`);
    return value;
  };

  const client: TaskerClient = {
    createTask: (body) => request('POST', '/tasks', body),
    getTask: (taskId) => request('GET', `/tasks/${id(taskId)}`),
    listTasks(query = {}) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
      }
      const qs = params.toString();
      return request('GET', `/tasks${qs ? `?${qs}` : ''}`);
    },
    cancelTask: (taskId, reason) =>
      request('POST', `/tasks/${id(taskId)}/cancel`, reason === undefined ? {} : { reason }),
    retryTask: (taskId, reason) =>
      request('POST', `/tasks/${id(taskId)}/retry`, reason === undefined ? {} : { reason }),
    signal: (taskId, name, payload) =>
      request('POST', `/tasks/${id(taskId)}/signals/${encodeURIComponent(name)}`, {
        ...(payload === undefined ? {} : { payload }),
      }),
    async waitForTask(taskId, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 30_000;
      const intervalMs = waitOptions.intervalMs ?? 250;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const task = await client.getTask(taskId);
        if (FINISHED.has(task.state)) return task;
        if (Date.now() + intervalMs > deadline) {
          const detail = `task ${taskId} did not finish within ${timeoutMs} ms (it is ${task.state})`;
          throw new TaskerApiError(
            0,
            { type: 'about:blank', title: 'Wait timed out', status: 0, detail, code: 'TASKER_WAIT_TIMEOUT' },
            detail,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
  };
  return client;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
