/**
 * Graceful shutdown on process signals. `worker.stop()` (or the worker option `handleSignals`) stops one
 * worker, but the process keeps running while the Tasker's connections are open; `closeOnSignals` closes
 * the whole Tasker on the first SIGTERM/SIGINT: every worker stops claiming, running steps get up to
 * execution.shutdownTimeoutMs to finish, what is left is released (claimable at once by other workers,
 * without charging an attempt), then the connections close and the process can exit by itself.
 * A second signal while closing exits at once (the steps still held are taken back after their lease).
 */

/** What closeOnSignals needs of a Tasker (so that any object with a close() works). */
export interface Closable {
  close(): Promise<void>;
}

export interface CloseOnSignalsOptions {
  /** @defaultValue ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /** Called with the signal before closing starts. */
  readonly onSignal?: (signal: NodeJS.Signals) => void;
  /** Called once closed (or with the error closing failed with). */
  readonly onClosed?: (error?: unknown) => void;
  /** Exit code for a second signal while closing. @defaultValue 130 */
  readonly forceExitCode?: number;
}

/**
 * Closes `tasker` on the first of `signals`; returns a function that removes the handlers.
 *
 * @example
 * const tasker = await createTasker();
 * await tasker.startWorker();
 * closeOnSignals(tasker); // SIGTERM: finish or release running steps, close, exit 0
 */
export function closeOnSignals(tasker: Closable, options: CloseOnSignalsOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) {
      process.exit(options.forceExitCode ?? 130);
    }
    closing = true;
    options.onSignal?.(signal);
    tasker.close().then(
      () => {
        remove();
        options.onClosed?.();
      },
      (error: unknown) => {
        remove();
        process.exitCode = 1;
        options.onClosed?.(error);
      },
    );
  };
  const remove = (): void => {
    for (const signal of signals) process.off(signal, handler);
  };
  for (const signal of signals) process.on(signal, handler);
  return remove;
}
