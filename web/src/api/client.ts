/**
 * The dashboard's only way to the server: fetch with the bearer token (when one is set), JSON in and out,
 * and failures turned into ApiError carrying the server's problem details.
 */
import type { paths } from '../../../src/client/openapi.generated.js';
import type {
  AuditEntry,
  FailedStep,
  FailureGroup,
  HealthStatus,
  NamespaceTemplates,
  Page,
  ProblemDetails,
  Schedule,
  Step,
  Task,
  TaskWithSteps,
  TemplateDetail,
} from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails,
  ) {
    super(problem.detail ?? problem.title ?? `request failed with HTTP ${status}`);
    this.name = 'ApiError';
  }

  /** True for 401 (no or bad token) and 403 (token lacks the permission). */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

const TOKEN_KEY = 'tasker.token';

/** The token lives in localStorage so it is entered once per browser. */
export function localTokenStore(storage: Storage = window.localStorage): TokenStore {
  return {
    get: () => storage.getItem(TOKEN_KEY),
    set: (token) => (token ? storage.setItem(TOKEN_KEY, token) : storage.removeItem(TOKEN_KEY)),
  };
}

export interface TaskFilter {
  /** active, recent, archived or all (default: active and recent). */
  tier?: string;
  state?: string;
  namespace?: string;
  name?: string;
  version?: string;
  tag?: string;
  /** Only the child tasks of this task. */
  parentTaskId?: number;
  createdAfter?: string;
  createdBefore?: string;
  sort?: 'createdAt' | '-createdAt';
  limit?: number;
  cursor?: string;
}

/** The body of POST /tasks, as the server's OpenAPI document declares it (generated types). */
export type CreateTaskBody = paths['/tasker/tasks']['post']['requestBody']['content']['application/json'];

export type AuthListener = (error: ApiError) => void;

export class ApiClient {
  private authListeners = new Set<AuthListener>();

  constructor(
    readonly prefix: string,
    private readonly tokens: TokenStore,
  ) {}

  /** Called on every 401/403, so the shell can ask for a token. */
  onAuthError(listener: AuthListener): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.tokens.get();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.prefix + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, {
        title: 'Server unreachable',
        detail: `could not reach ${this.prefix}${path}: ${(error as Error).message}`,
      });
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      const problem: ProblemDetails =
        parsed && typeof parsed === 'object'
          ? (parsed as ProblemDetails)
          : { title: response.statusText, detail: text.slice(0, 300) };
      const error = new ApiError(response.status, problem);
      if (error.isAuth) for (const listener of this.authListeners) listener(error);
      throw error;
    }
    return parsed as T;
  }

  /** An EventSource URL: EventSource cannot send headers, so the token goes in the query. */
  eventsUrl(path: string): string {
    const token = this.tokens.get();
    return this.prefix + path + (token ? `?access_token=${encodeURIComponent(token)}` : '');
  }

  listTasks(filter: TaskFilter): Promise<Page<Task>> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value !== undefined && value !== '') query.set(key, String(value));
    }
    const qs = query.toString();
    return this.request('GET', `/tasks${qs ? `?${qs}` : ''}`);
  }
  getTask(id: number, withDependencies = false): Promise<TaskWithSteps> {
    return this.request('GET', `/tasks/${id}${withDependencies ? '?include=dependencies' : ''}`);
  }
  getAudit(id: number): Promise<{ items: AuditEntry[] }> {
    return this.request('GET', `/tasks/${id}/audit`);
  }
  createTask(body: CreateTaskBody): Promise<Task> {
    return this.request('POST', '/tasks', body);
  }
  cancelTask(id: number, reason?: string): Promise<Task> {
    return this.request('POST', `/tasks/${id}/cancel`, reason ? { reason } : {});
  }
  retryTask(id: number, reason?: string): Promise<Task> {
    return this.request('POST', `/tasks/${id}/retry`, reason ? { reason } : {});
  }
  cancelStep(taskId: number, stepId: number): Promise<Step> {
    return this.request('POST', `/tasks/${taskId}/steps/${stepId}/cancel`, {});
  }
  retryStep(taskId: number, stepId: number): Promise<Step> {
    return this.request('POST', `/tasks/${taskId}/steps/${stepId}/retry`, {});
  }
  resolveStep(taskId: number, stepId: number, results: unknown, reason?: string): Promise<Step> {
    return this.request(
      'POST',
      `/tasks/${taskId}/steps/${stepId}/resolve`,
      reason ? { results, reason } : { results },
    );
  }
  handlers(): Promise<{ namespaces: NamespaceTemplates[] }> {
    return this.request('GET', '/handlers');
  }
  template(namespace: string, name: string, version?: string): Promise<TemplateDetail> {
    const path = `/handlers/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
    return this.request('GET', version ? `${path}?version=${encodeURIComponent(version)}` : path);
  }
  failures(filter: { since?: string; namespace?: string } = {}): Promise<{ items: FailureGroup[] }> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value) query.set(key, value);
    const qs = query.toString();
    return this.request('GET', `/failures${qs ? `?${qs}` : ''}`);
  }
  failedSteps(fingerprint: string): Promise<{ fingerprint: string; items: FailedStep[] }> {
    return this.request('GET', `/failures/${encodeURIComponent(fingerprint)}?limit=100`);
  }
  bulk(
    action: 'retry' | 'resolve' | 'cancel',
    body: { filter: Record<string, string>; reason: string; dryRun?: boolean; results?: unknown },
  ): Promise<{ matched: number; changed: number; failed: Array<{ id: number; message: string }> }> {
    return this.request('POST', `/bulk/${action}`, { ...body, requestedBy: 'dashboard' });
  }
  schedules(): Promise<{ items: Schedule[] }> {
    return this.request('GET', '/schedules?upcoming=3');
  }
  scheduleAction(name: string, action: 'pause' | 'resume' | 'run'): Promise<unknown> {
    return this.request('POST', `/schedules/${encodeURIComponent(name)}/${action}`);
  }
  healthStatus(): Promise<HealthStatus> {
    return this.request('GET', '/health/status');
  }
  /** Optional endpoints (mounted only when the observability module is): null when absent (404). */
  async optional<T>(path: string): Promise<T | null> {
    try {
      return await this.request<T>('GET', path);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 501)) return null;
      throw error;
    }
  }
}
