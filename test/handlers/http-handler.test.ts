import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/definitions/types.js';
import { PermanentError, RetryableError } from '../../src/errors.js';
import { createHttpHandler, parseRetryAfter } from '../../src/handlers/http-handler.js';
import { BACKENDS, testTasker } from '../helpers.js';

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A local HTTP server; every request is recorded. */
async function serve(route: Route) {
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> =
    [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      route(req, body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function stepContext(config: Record<string, unknown>, extra: Partial<StepContext> = {}): StepContext {
  return {
    task: { id: 7, namespace: 'ns', name: 't', version: '1.0.0', correlationId: null },
    step: { id: 70, name: 'call', attempt: 1, retryLimit: 3 },
    context: { cartId: 42, note: 'a b/c' },
    inputs: null,
    parents: { price: { total: 19.5, items: [1, 2] } },
    config,
    attempt: 1,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    publish: () => {},
    startChild: () => Promise.reject(new Error('no child tasks here')),
    checkpoint: () => Promise.reject(new Error('not a batch worker')),
    lastCheckpoint: undefined,
    ...extra,
  };
}

async function failure(promise: unknown): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the handler to throw');
}

describe('the HTTP step handler', () => {
  it('sends the templated request and returns status and parsed body on 2xx', async () => {
    const api = await serve((_req, _body, res) => json(res, 201, { orderId: 5 }));
    const handler = createHttpHandler({ env: { SHOP_TOKEN: 's3cret' } });
    const result = await handler(
      stepContext(
        {
          method: 'post',
          url: '{{context.base}}/carts/{{context.cartId}}/notes/{{context.note}}',
          query: { task: '{{task.id}}' },
          headers: { Authorization: { env: 'SHOP_TOKEN', prefix: 'Bearer ' }, 'X-Step': '{{step.name}}' },
          body: {
            total: '{{parents.price.total}}',
            items: '{{parents.price.items}}',
            label: 'cart {{context.cartId}}',
          },
        },
        { context: { cartId: 42, note: 'a b/c', base: api.url } },
      ) as never,
    );
    expect(result).toEqual({ status: 201, body: { orderId: 5 } });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/carts/42/notes/a%20b%2Fc?task=7');
    expect(request!.headers.authorization).toBe('Bearer s3cret');
    expect(request!.headers['x-step']).toBe('call');
    expect(request!.headers['content-type']).toBe('application/json');
    // A whole-value placeholder keeps its type; an embedded one is text.
    expect(JSON.parse(request!.body)).toEqual({ total: 19.5, items: [1, 2], label: 'cart 42' });
  });

  it.each([400, 401, 403, 404, 422])('fails permanently with code HTTP_%i', async (status) => {
    const api = await serve((_req, _body, res) => json(res, status, { error: 'no' }));
    const error = await failure(createHttpHandler()(stepContext({ url: `${api.url}/x` }) as never));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe(`HTTP_${status}`);
    expect((error as PermanentError).context).toMatchObject({ status, body: { error: 'no' } });
  });

  it.each([408, 500, 502, 504, 409])('retries on %i', async (status) => {
    const api = await serve((_req, _body, res) => json(res, status, {}));
    const error = await failure(createHttpHandler()(stepContext({ url: `${api.url}/x` }) as never));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBeUndefined();
  });

  it('retries 429 and 503 after the Retry-After seconds or date', async () => {
    const later = new Date(Date.now() + 120_000).toUTCString();
    let n = 0;
    const api = await serve((_req, _body, res) =>
      n++ === 0 ? json(res, 429, {}, { 'retry-after': '7' }) : json(res, 503, {}, { 'retry-after': later }),
    );
    const handler = createHttpHandler();
    const first = (await failure(handler(stepContext({ url: api.url }) as never))) as RetryableError;
    expect(first).toBeInstanceOf(RetryableError);
    expect(first.retryAfterMs).toBe(7000);
    const second = (await failure(handler(stepContext({ url: api.url }) as never))) as RetryableError;
    expect(second.retryAfterMs).toBeGreaterThan(100_000);
    expect(second.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('reads Retry-After as seconds or an HTTP date and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('turns a refused connection into a retryable error', async () => {
    const api = await serve((_req, _body, res) => json(res, 200, {}));
    await new Promise((r) => servers.pop()!.close(r));
    const error = await failure(createHttpHandler()(stepContext({ url: api.url }) as never));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toContain('failed');
  });

  it('times out with a retryable error, and passes the step signal reason through', async () => {
    const api = await serve(() => {}); // never answers
    const timedOut = await failure(
      createHttpHandler()(stepContext({ url: api.url, timeoutMs: 200 }) as never),
    );
    expect(timedOut).toBeInstanceOf(RetryableError);
    expect(timedOut.message).toContain('timed out after 200 ms');

    const controller = new AbortController();
    const reason = new Error('task cancelled');
    const pending = createHttpHandler()(
      stepContext({ url: api.url }, { signal: controller.signal }) as never,
    );
    setTimeout(() => controller.abort(reason), 50);
    expect(await failure(pending)).toBe(reason);
  });

  it('fails permanently for a config it cannot use or a missing value or secret', async () => {
    const handler = createHttpHandler({ env: {} });
    const noUrl = (await failure(handler(stepContext({ method: 'GET' }) as never))) as PermanentError;
    expect(noUrl.code).toBe('HTTP_INVALID_CONFIG');
    expect(noUrl.message).toContain('url');
    const missing = (await failure(
      handler(stepContext({ url: 'http://127.0.0.1:1/{{context.nope}}' }) as never),
    )) as PermanentError;
    expect(missing.code).toBe('HTTP_MISSING_VALUE');
    expect(missing.message).toContain('context.nope');
    const secret = (await failure(
      handler(stepContext({ url: 'http://127.0.0.1:1/', headers: { 'X-Key': { env: 'NOT_SET' } } }) as never),
    )) as PermanentError;
    expect(secret.message).toContain('NOT_SET');
  });
});

describe.each(BACKENDS)('the http handler inside the engine (%s)', (backend) => {
  it('is registered by default; a 503 with Retry-After is retried and a 404 fails the step for good', async () => {
    let calls = 0;
    const api = await serve((req, _body, res) => {
      if (req.url === '/missing') return json(res, 404, { error: 'gone' });
      calls += 1;
      return calls === 1 ? json(res, 503, {}, { 'retry-after': '0' }) : json(res, 200, { ok: calls });
    });
    const { tasker } = await testTasker(backend);
    tasker.register({
      namespace: 'web',
      name: 'calls',
      version: '1.0.0',
      steps: [
        { name: 'flaky', handler: 'http', config: { url: `${api.url}/flaky` } },
        { name: 'missing', handler: 'http', retryLimit: 5, config: { url: `${api.url}/missing` } },
      ],
    });
    const task = await tasker.createTask({ namespace: 'web', name: 'calls', context: {} });
    await tasker.startWorker({ concurrency: 2 });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
    const flaky = done.steps.find((s) => s.name === 'flaky')!;
    const missing = done.steps.find((s) => s.name === 'missing')!;
    expect(flaky.state).toBe('complete');
    expect(flaky.results).toEqual({ status: 200, body: { ok: 2 } });
    expect(flaky.attempts).toBe(2);
    expect(missing.state).toBe('error');
    expect(missing.attempts).toBe(1);
    expect(missing.lastError?.code).toBe('HTTP_404');
    expect(done.state).toBe('error');
  }, 180_000); // includes starting the embedded database on a busy machine
});
