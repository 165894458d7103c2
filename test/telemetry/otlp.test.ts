// Spans exported over OTLP/HTTP to a collector: a local HTTP server stands in for the collector.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { defineTask } from '../../src/index.js';
import { createOtlpTracerProvider } from '../../src/telemetry/otlp.js';
import { testTasker } from '../helpers.js';

let collector: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (collector ? collector.close(r) : r(undefined)));
  collector = null;
});

test('a step span reaches an OTLP collector, with the service name, when the Tasker closes', async () => {
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

  const tracerProvider = createOtlpTracerProvider({ endpoint, serviceName: 'orders-test' });
  const { tasker } = await testTasker('pglite', { telemetry: { tracing: { tracerProvider } } });
  tasker.register(defineTask({ name: 'traced', steps: [{ name: 'only', handler: async () => 'ok' }] }));
  await tasker.startWorker();
  const { id } = await tasker.createTask({ name: 'traced' });
  expect((await tasker.waitForTask(id, { timeoutMs: 30_000 })).state).toBe('complete');
  await tasker.close(); // flushes the batch processor

  const all = bodies.join('\n');
  expect(all).toContain('tasker.step only');
  expect(all).toContain('orders-test');
  await tracerProvider.shutdown();
});
