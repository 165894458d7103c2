/**
 * Runs two (or more) workloads at the same moment, each in its own child process on its own schema
 * (workload-child.ts): a comparison of two settings where both see the same moments of the machine. On a
 * machine whose speed moves by tens of percent from one minute to the next, two runs one after the other
 * differ by more than the setting does; two at once share whatever the machine does meanwhile, and each
 * process's CPU per task is its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { BackendName } from '../backend.js';
import { benchScript, stopChildren } from '../child-processes.js';
import { BenchError } from '../errors.js';
import type { SectionContext } from '../section.js';
import type { WorkloadResult, WorkloadSpec } from './run-workload.js';

/** What the parent sends a child: where to run and the workload (without the parent-side hooks). */
export interface ChildRequest {
  readonly backend: BackendName;
  readonly databaseUrl: string | null;
  readonly poolSize: number;
  readonly spec: Omit<WorkloadSpec, 'onReady' | 'flow'>;
}

/** The line a child prints its result on, before the JSON. */
export const RESULT_PREFIX = 'result ';

interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<WorkloadResult>;
}

function startChild(request: ChildRequest, label: string): Child {
  const child = spawn(process.execPath, [benchScript('workload-child.js'), JSON.stringify(request)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buffer = '';
  let onReady: () => void = () => {};
  let result: WorkloadResult | null = null;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') onReady();
      else if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length));
    }
  });
  const exited = new Promise<WorkloadResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && result) resolve(result);
      else
        reject(
          new BenchError(
            'BENCH_UNAVAILABLE',
            `${label}: child process exited with ${signal ?? code}${result ? '' : ' before its result'}`,
          ),
        );
    });
  });
  // Settles `ready` with the child's failure if it dies before saying it.
  return { process: child, ready: Promise.race([ready, exited.then(() => {})]), result: exited };
}

/**
 * Runs `specs` at once, one child process each, and returns their results in the same order. The
 * children open their Taskers first; the timed runs start together, `go` sent in the order `goOrder`
 * gives (indices into `specs`; alternate it between runs so that neither side always starts first).
 */
export async function runSideBySide(
  ctx: SectionContext,
  specs: ReadonlyArray<{ readonly label: string; readonly spec: ChildRequest['spec'] }>,
  goOrder: readonly number[] = specs.map((_, i) => i),
): Promise<WorkloadResult[]> {
  const children = specs.map(({ label, spec }) =>
    startChild(
      { backend: ctx.backendName, databaseUrl: ctx.databaseUrl, poolSize: ctx.poolSize, spec },
      label,
    ),
  );
  const results = Promise.all(children.map((c) => c.result));
  results.catch(() => {}); // awaited below; a failure before `go` is reported by the ready wait
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new BenchError('BENCH_TIMEOUT', `side-by-side runs did not finish in ${ctx.timeoutMs} ms`)),
        ctx.timeoutMs + 60_000,
      );
    });
    await Promise.race([Promise.all(children.map((c) => c.ready)), timeout]);
    for (const i of goOrder) children[i]!.process.stdin!.write('go\n');
    return await Promise.race([results, timeout]);
  } finally {
    clearTimeout(timer);
    await stopChildren(children.map((c) => c.process));
  }
}
