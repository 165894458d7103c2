/**
 * `npm start`: runs the example workflows on the embedded database (PGlite in ./.tasker, or
 * TASKER_DATA_DIR; PostgreSQL instead when DATABASE_URL is set) and narrates them on stdout.
 * Ctrl-C stops cleanly: the worker stops, unfinished steps are released, the database is closed.
 * Exit code: 0 when every example task completed, 1 otherwise, 130 when interrupted.
 */
import { createTasker } from '../tasker.js';
import { runExamples } from './run-examples.js';

async function main(): Promise<number> {
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
    const result = await runExamples(tasker, { output: process.stdout, signal: controller.signal });
    return result.interrupted ? 130 : result.ok ? 0 : 1;
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
