// `tasker ... | head -1`: the reader closes the pipe early. The CLI must stop silently (exit 141, as a
// process killed by SIGPIPE), never print Node's EPIPE stack. The child's stdout here is the write end
// of a FIFO whose only reader is closed before the child starts, so every write it makes fails: the
// early close is certain, not a race with the child's start-up.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers.js';
import { CLI, type CliResult, databaseEnv, tempProject } from './cli-helpers.js';

/** Runs the CLI with a stdout nobody reads any more. */
function runWithClosedStdout(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const fifoDir = mkdtempSync(join(tmpdir(), 'tasker-fifo-'));
  const fifo = join(fifoDir, 'out');
  execFileSync('mkfifo', [fifo]);
  // Opening the read end without blocking lets the write end open; closing the reader then leaves a
  // pipe with no reader at all.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TASKER_') && k !== 'DATABASE_URL'),
  );
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...cleanEnv, NO_COLOR: '1', ...env },
    stdio: ['ignore', writer, 'pipe'],
  });
  closeSync(writer);
  rmSync(fifoDir, { recursive: true, force: true });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: '', stderr })),
  );
}

describe('output to a reader that went away', { timeout: 120_000 }, () => {
  it('help stops silently with 141 instead of an EPIPE stack', async () => {
    const dir = tempProject();
    for (const args of [['--help'], ['run', '--help']]) {
      const result = await runWithClosedStdout(args, dir);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(141);
    }
  });

  for (const backend of BACKENDS) {
    it(`tasker list stops silently with 141 (${backend})`, async () => {
      const dir = tempProject();
      const result = await runWithClosedStdout(['list'], dir, databaseEnv(backend, dir));
      expect(result.stderr).not.toContain('EPIPE');
      expect(result.stderr).not.toContain('at ');
      expect(result.code).toBe(141);
    });
  }
});
