#!/usr/bin/env node
/** The `tasker` bin. See docs/cli.md. */
import { CommanderError } from 'commander';
import { exitQuietlyOnBrokenPipe } from './broken-pipe.js';
import { EXIT } from './exit-codes.js';
import { createOutput } from './output.js';
import { createProgram, VERSION } from './program.js';

exitQuietlyOnBrokenPipe();
const output = createOutput();
let exitCode: number = EXIT.OK;
const program = createProgram(output, (code) => {
  exitCode = code;
});

try {
  // Not a commander option: `generate task --version` is the task's version.
  if (process.argv.length === 3 && ['-v', '-V', '--version'].includes(process.argv[2]!)) output.out(VERSION);
  else await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other parsing problem is a usage error.
    exitCode = error.exitCode === 0 || error.code === 'commander.helpDisplayed' ? EXIT.OK : EXIT.USAGE;
    if (error.code === 'commander.help') exitCode = EXIT.OK;
  } else {
    output.err(`error: ${(error as Error).message}`);
    if (process.argv.includes('--debug') && error instanceof Error && error.stack) output.err(error.stack);
    exitCode = EXIT.INTERNAL;
  }
}
// Let pending output flush, then exit even if a library left a handle open.
process.exitCode = exitCode;
setTimeout(() => process.exit(exitCode), 50).unref();
