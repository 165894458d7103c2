// The http handler keeps the cause of a failed connection (not "fetch failed"): against a real closed
// port, a name that cannot resolve (.invalid is reserved) and a real TLS server with a self-signed
// certificate; and the cause reaches the stored step error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/definitions/types.js';
import { createHttpHandler } from '../../src/handlers/http-handler.js';
import { describeNetworkFailure } from '../../src/handlers/network-errors.js';
import { defineTask, RetryableError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function context(url: string): StepContext {
  return {
    task: { id: 1, namespace: 'ns', name: 't', version: '1.0.0', correlationId: null },
    step: { id: 1, name: 'call', attempt: 1, retryLimit: 3 },
    context: {},
    inputs: null,
    parents: {},
    config: { url, timeout_ms: 5000 },
    attempt: 1,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    publish: () => {},
    startChild: () => Promise.reject(new Error('no child tasks here')),
    checkpoint: () => Promise.reject(new Error('not a batch worker')),
    lastCheckpoint: undefined,
  } as StepContext;
}

async function failureOf(url: string): Promise<RetryableError> {
  const error = await Promise.resolve(createHttpHandler()(context(url) as never)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RetryableError);
  return error as RetryableError;
}

describe('http handler network failures', () => {
  it('a closed port: HTTP_CONNECTION_REFUSED with ECONNREFUSED in the message', async () => {
    const port = await closedPort();
    const error = await failureOf(`http://127.0.0.1:${port}/x`);
    expect(error.code).toBe('HTTP_CONNECTION_REFUSED');
    expect(error.message).toContain(`connection refused (ECONNREFUSED 127.0.0.1:${port})`);
    expect(error.message).not.toContain('fetch failed');
    expect(error.context).toMatchObject({ category: 'network', causeCode: 'ECONNREFUSED' });
  });

  it('a name that does not resolve: HTTP_DNS', async () => {
    const error = await failureOf('http://no-such-host.invalid/x');
    expect(error.code).toBe('HTTP_DNS');
    expect(error.message).toMatch(/host name not resolved \((ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\)/);
  });

  it('a self-signed certificate: HTTP_TLS naming the certificate problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tasker-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = createTlsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.end('{}'),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const error = await failureOf(`https://localhost:${port}/x`);
    expect(error.code).toBe('HTTP_TLS');
    expect(error.message).toMatch(/TLS failed: .*\((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/);
  });

  it('classifies nested causes and leaves unknown ones as HTTP_NETWORK', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:80'), {
      code: 'ECONNREFUSED',
      address: '::1',
      port: 80,
    });
    const wrapped = new TypeError('fetch failed', { cause: new AggregateError([refused], 'all failed') });
    expect(describeNetworkFailure(wrapped)).toEqual({
      code: 'HTTP_CONNECTION_REFUSED',
      causeCode: 'ECONNREFUSED',
      detail: 'connection refused (ECONNREFUSED ::1:80)',
    });
    expect(describeNetworkFailure(new TypeError('fetch failed'))).toEqual({
      code: 'HTTP_NETWORK',
      causeCode: undefined,
      detail: 'fetch failed',
    });
  });
});

describe.each(BACKENDS)('the cause in the stored step error on %s', (backend) => {
  it('keeps code, message and cause code in the step last error', async () => {
    const port = await closedPort();
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({
        name: 'call_closed',
        steps: [
          { name: 'call', handler: 'http', config: { url: `http://127.0.0.1:${port}/x` }, retryLimit: 1 },
        ],
      }),
    );
    await tasker.startWorker();
    const { id } = await tasker.createTask({ name: 'call_closed' });
    const done = await tasker.waitForTask(id, { timeoutMs: 30_000 });
    expect(done.state).toBe('error');
    expect(done.steps[0]!.lastError).toMatchObject({
      code: 'HTTP_CONNECTION_REFUSED',
      message: expect.stringContaining('ECONNREFUSED'),
      context: { category: 'network', causeCode: 'ECONNREFUSED' },
    });
  });
});
