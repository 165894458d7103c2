/**
 * One side of a side-by-side comparison (`node dist/bench/workload-child.js '<json>'`, see
 * workloads/side-by-side.ts): runs one workload in its own process, on a fresh schema of its own, so that
 * two settings measured at once each get their own process CPU. The JSON names the backend and the
 * workload; the child says `ready` once its Tasker is open, starts the timed run on a `go` line, and
 * prints its result as one line `result <json>`.
 */
import { createInterface } from 'node:readline';
import { openBackend } from './backend.js';
import { BenchError } from './errors.js';
import { MODES, runWorkload } from './workloads/run-workload.js';
import { type ChildRequest, RESULT_PREFIX } from './workloads/side-by-side.js';
import { SHAPES } from './workloads/tracker.js';

function parseRequest(text: string | undefined): ChildRequest {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new BenchError(
      'BENCH_INVALID_OPTION',
      "usage: workload-child.js '<json request>' (see ChildRequest)",
    );
  }
  const r = value as ChildRequest;
  const problems = [
    r?.backend === 'pg' || r?.backend === 'pglite' ? null : 'backend: expected "pg" or "pglite"',
    r?.backend !== 'pg' || typeof r.databaseUrl === 'string' ? null : 'databaseUrl: expected a URL on pg',
    Number.isInteger(r?.poolSize) && r.poolSize > 0 ? null : 'poolSize: expected a positive integer',
    SHAPES.includes(r?.spec?.shape) ? null : `spec.shape: expected one of ${SHAPES.join(', ')}`,
    MODES.includes(r?.spec?.mode) ? null : `spec.mode: expected one of ${MODES.join(', ')}`,
    ...(['tasks', 'concurrency', 'workers', 'timeoutMs'] as const).map((key) =>
      Number.isInteger(r?.spec?.[key]) && r.spec[key] > 0 ? null : `spec.${key}: expected a positive integer`,
    ),
  ].filter((p) => p !== null);
  if (problems.length > 0)
    throw new BenchError('BENCH_INVALID_OPTION', `workload-child.js: ${problems.join('; ')}`);
  return r;
}

/** Resolves on the first `go` line of stdin; rejects if stdin closes first. */
function untilGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() === 'go') {
        resolve();
        lines.close();
      }
    });
    lines.on('close', () => reject(new BenchError('BENCH_UNAVAILABLE', 'stdin closed before "go"')));
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const request = parseRequest(argv[0]);
  const backend = openBackend(request.backend, {
    databaseUrl: request.databaseUrl ?? '',
    poolSize: request.poolSize,
  });
  try {
    const env = await backend.openRun();
    try {
      const result = await runWorkload(env, {
        ...request.spec,
        onReady: async () => {
          const go = untilGo();
          process.stdout.write('ready\n');
          await go;
        },
      });
      process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    } finally {
      await env.dispose();
    }
  } finally {
    process.stdin.destroy(); // nothing more to read; an open pipe would keep the process alive
    await backend.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
