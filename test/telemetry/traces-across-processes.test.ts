// One trace per task across processes: a real `tasker serve --no-worker` (the API process) and a real
// `tasker worker` (child processes on PostgreSQL) export spans over OTLP/HTTP to a local HTTP server
// standing in for the collector. The caller's traceparent -> the API request's server span -> the task
// span -> every step attempt's span, in the other process, all in the caller's trace.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseEnv, spawnCli, tempProject } from '../cli/cli-helpers.js';
import { PG_URL } from '../helpers.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

/** Spans of OTLP/HTTP JSON export requests, each with its resource's service.name. */
function spansOf(bodies: readonly string[]): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const body of bodies) {
    const parsed = JSON.parse(body) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
        scopeSpans: Array<{ spans: Array<Omit<OtlpSpan, 'service'>> }>;
      }>;
    };
    for (const rs of parsed.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
    }
  }
  return spans;
}

const TEMPLATE = `
name: traced
namespace_name: demo
version: 1.0.0
step_templates:
  - name: first
    handler: ok
  - name: second
    depends_on_step: first
    handler: ok
`;

describe.skipIf(!PG_URL)('traces across processes', { timeout: 180_000 }, () => {
  let collector: Server | null = null;
  afterAll(async () => {
    await new Promise((r) => (collector ? collector.close(r) : r(undefined)));
  });

  it('joins the API request, the task creation and every step attempt in the caller trace', async () => {
    const bodies: string[] = [];
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => collector!.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/traced.yaml': TEMPLATE,
      'handlers/demo.ts': 'export function ok() { return { ok: true }; }\n',
    });
    const env = { ...databaseEnv('postgres', dir), TASKER_OTLP_ENDPOINT: endpoint, TASKER_LOG_LEVEL: 'warn' };
    const api = spawnCli(['serve', '--no-worker', '--port', '0'], dir, {
      ...env,
      TASKER_SERVICE_NAME: 'orders-api',
    });
    await api.waitFor('Tasker API on');
    const base = /Tasker API on (\S+)/.exec(api.output())![1]!;
    const worker = spawnCli(['worker'], dir, { ...env, TASKER_SERVICE_NAME: 'orders-worker' });
    await worker.waitFor('started');

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ namespace: 'demo', name: 'traced', context: {} }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: number };
    for (let i = 0; i < 300; i++) {
      const task = (await (await fetch(`${base}/tasks/${id}`)).json()) as { state: string };
      if (task.state === 'complete') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Closing flushes the exporters.
    worker.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    expect((await worker.result).code).toBe(0);
    expect((await api.result).code).toBe(0);

    const spans = spansOf(bodies).filter((s) => s.traceId === traceId);
    const request = spans.find((s) => s.name === 'HTTP POST /tasker/tasks');
    const task = spans.find((s) => s.name === 'tasker.task');
    const steps = spans.filter((s) => s.name.startsWith('tasker.step '));
    expect(request).toMatchObject({ service: 'orders-api', parentSpanId: callerSpan });
    expect(task).toMatchObject({ service: 'orders-api', parentSpanId: request!.spanId });
    expect(steps.map((s) => s.name).sort()).toEqual(['tasker.step first', 'tasker.step second']);
    for (const step of steps) {
      expect(step).toMatchObject({ service: 'orders-worker', parentSpanId: task!.spanId });
    }
  });
});
