/**
 * A reader that stops reading (`tasker list | head -1`) closes the pipe under our stdout; the next write
 * fails with EPIPE, which Node raises as an unhandled 'error' event with a stack trace. C tools such as
 * git are killed silently by SIGPIPE instead (Node ignores that signal), so the CLI does the same by hand:
 * it exits at once, prints nothing, and reports 141 (128 + SIGPIPE), the status a shell shows for git.
 * Whatever the command was doing is in the database already; nothing else is lost by stopping.
 */
import { EXIT } from './exit-codes.js';

/** Makes a closed reader end the process quietly; other stream errors are thrown as before. */
export function exitQuietlyOnBrokenPipe(
  streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') exit(EXIT.BROKEN_PIPE);
      else throw error;
    });
  }
}
