/**
 * JSON over HTTP for the example workflows (a module starting with `_` is a helper, not a task). A 4xx
 * answer fails the step at once, since a retry cannot fix it (code HTTP_<status>); a 5xx answer or an
 * unreachable server is retried. Pass the step's `signal`: a timeout or a cancel then stops the request.
 */
import { PermanentError, RetryableError } from 'tasker-ts';

export interface JsonRequest {
  readonly method?: 'GET' | 'POST';
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

export async function requestJson<T>(url: string, request: JsonRequest): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method ?? 'GET',
      headers: {
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: request.signal,
    });
  } catch (error) {
    if (request.signal.aborted) throw error;
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new RetryableError(`${url} could not be reached: ${cause}`, { cause: error });
  }
  if (response.status >= 500) throw new RetryableError(`${url} answered ${response.status}`);
  if (!response.ok) {
    throw new PermanentError(`${url} answered ${response.status}`, { code: `HTTP_${response.status}` });
  }
  return (await response.json()) as T;
}
