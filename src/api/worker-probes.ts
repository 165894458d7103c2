/**
 * The small HTTP server of a `tasker worker --port`: what an orchestrator and Prometheus need from a
 * process that serves no API. Three routes under the API prefix, nothing else:
 *
 *   GET {prefix}/health/live    200 while the process runs
 *   GET {prefix}/health/ready   200 while the worker runs and the database answers; 503 otherwise
 *   GET {prefix}/metrics        the process's Prometheus metrics (its counters, the cluster gauges)
 *
 * It listens before the engine starts (`listenWhileStarting`: live 200, ready 503 while waiting for the
 * database) and takes the socket over once the worker runs. No auth: bind it to an address only the
 * orchestrator and Prometheus reach (a pod's port, a private network).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tasker } from '../tasker.js';
import type { Worker } from '../worker/worker.js';
import type { StartingServer } from './starting-server.js';

export interface WorkerProbeOptions {
  readonly tasker: Tasker;
  readonly worker: Worker;
  readonly listening: StartingServer;
  /** The API prefix, e.g. '/tasker'. */
  readonly prefix: string;
  /** How long the database may take to answer the readiness check. */
  readonly readinessTimeoutMs: number;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function databaseAnswers(tasker: Tasker, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      tasker.database.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (error) {
    return error instanceof Error && /no answer/.test(error.message)
      ? `the database did not answer within ${timeoutMs} ms`
      : 'the database is not reachable';
  } finally {
    clearTimeout(timer);
  }
}

/** Hands the listening socket over to the worker's probes; returns the handler (for tests). */
export function serveWorkerProbes(options: WorkerProbeOptions) {
  const { tasker, worker, listening, readinessTimeoutMs } = options;
  const prefix = options.prefix.replace(/\/+$/, '');
  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendJson(response, 405, { status: 'fail', detail: 'only GET and HEAD are served here' });
    }
    if (path === `${prefix}/health/live`) return sendJson(response, 200, { status: 'ok' });
    if (path === `${prefix}/health/ready`) {
      const running = worker.state === 'running';
      const database = await databaseAnswers(tasker, readinessTimeoutMs);
      const checks = {
        worker: running
          ? { status: 'ok', name: worker.name }
          : { status: 'fail', detail: `the worker is ${worker.state}` },
        database: database ? { status: 'fail', detail: database } : { status: 'ok' },
      };
      const ready = running && !database;
      return sendJson(response, ready ? 200 : 503, { status: ready ? 'ok' : 'fail', checks });
    }
    if (path === `${prefix}/metrics`) {
      const metrics = tasker.telemetry.metrics;
      if (!metrics) {
        return sendJson(response, 404, {
          status: 'fail',
          detail: 'metrics are turned off (telemetry.metrics)',
        });
      }
      const body = await metrics.text();
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(body);
      return;
    }
    sendJson(response, 404, {
      status: 'fail',
      detail: `a worker serves only ${prefix}/health/live, ${prefix}/health/ready and ${prefix}/metrics`,
    });
  };
  listening.handOver((request, response) => {
    handler(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        sendJson(response, 500, { status: 'fail', detail: (error as Error)?.message ?? String(error) });
      } else response.destroy();
    });
  });
  return handler;
}
