/**
 * `npm start`: the API server, the dashboard and a worker on the embedded database (PGlite in ./.tasker,
 * or TASKER_DATA_DIR; PostgreSQL instead when DATABASE_URL is set), then the example workflows, narrated
 * on stdout. On a terminal the server keeps running afterwards (open the dashboard) until Ctrl-C; when
 * stdout is not a terminal it stops after the examples. `--serve` keeps serving, `--exit` stops.
 * Ctrl-C stops cleanly: the worker stops, unfinished steps are released, the database is closed.
 * Exit code: 0 when every example task completed, 1 otherwise, 130 when interrupted.
 */
import { startServer } from '../api/server.js';
import { createTasker } from '../tasker.js';
import { registerExamples, runExamples } from './run-examples.js';

function listenPort(): number {
  const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got "${process.env.PORT}"`);
  }
  return port;
}

async function main(): Promise<number> {
  const keepServing =
    process.argv.includes('--serve') || (process.stdout.isTTY === true && !process.argv.includes('--exit'));
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: leave at once
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const tasker = await createTasker({ execution: { pollIntervalMs: 500 } });
  const where = tasker.config.database.url
    ? 'PostgreSQL (DATABASE_URL)'
    : `embedded PGlite in ${tasker.config.database.dataDir}`;
  process.stdout.write(`Tasker examples on ${where}\n`);
  try {
    registerExamples(tasker);
    const port = listenPort();
    const server = await startServer({ tasker, port }).catch((error: Error) => {
      // startServer names the port in a TASKER_INVALID_CONFIG error; the listen error is its cause.
      if ((error.cause as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') throw error;
      process.stdout.write(`Port ${port} is in use; listening on a free port instead.\n`);
      return startServer({ tasker, port: 0 });
    });
    process.stdout.write(`Dashboard: ${server.url}/ui/   API docs: ${server.url}/api-docs\n`);
    const worker = await tasker.startWorker();
    try {
      const result = await runExamples(tasker, {
        output: process.stdout,
        signal: controller.signal,
        startWorker: false,
      });
      if (result.interrupted) return 130;
      if (keepServing) {
        process.stdout.write(
          `\nServing the API and the dashboard at ${server.url}/ui/ with a worker; Ctrl-C stops.\n`,
        );
        await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve()));
      }
      return result.ok ? 0 : 1;
    } finally {
      await server.close();
      await worker.stop();
    }
  } finally {
    await tasker.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `npm start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
