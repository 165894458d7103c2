/**
 * What the sections that run real child processes share: finding a compiled bench script, waiting for a
 * line a child prints, and stopping children (stdin closed, then SIGKILL if one hangs).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './errors.js';

/**
 * The compiled script `name` (e.g. `scale-worker.js`) of dist/bench: beside this module when it runs
 * compiled, or in dist when the sections run from the TypeScript sources under the test runner.
 */
export function benchScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, name);
  if (existsSync(beside)) return beside;
  const built = join(here, '..', '..', 'dist', 'bench', name);
  if (existsSync(built)) return built;
  throw new BenchError(
    'BENCH_UNAVAILABLE',
    `${name} not found (looked in ${beside} and ${built}): npm run build`,
  );
}

/** Resolves once `child` prints the line `wanted`; rejects if it exits first or `timeoutMs` passes. */
export function waitForLine(child: ChildProcess, wanted: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new BenchError('BENCH_TIMEOUT', `child process not ${wanted}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.split('\n').includes(wanted)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new BenchError('BENCH_UNAVAILABLE', `child process exited with ${code} before saying ${wanted}`),
      );
    });
  });
}

/** Closes each child's stdin (the children stop on that) and waits for them; SIGKILL after 15 s. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.stdin!.end();
        }),
    ),
  );
}
