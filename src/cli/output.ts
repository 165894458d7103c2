/**
 * Terminal output: colour and live progress only when the stream is a terminal (and NO_COLOR is unset),
 * JSON for scripts, and small aligned tables.
 */
import { formatProblems, isTaskerError } from '../errors.js';

export interface Output {
  /** stdout is a terminal: colour and live redraws are allowed. */
  readonly tty: boolean;
  readonly colour: boolean;
  out(text: string): void;
  err(text: string): void;
  json(value: unknown): void;
}

export function createOutput(
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const tty = stdout.isTTY === true;
  const colour = tty && !env.NO_COLOR && env.TERM !== 'dumb';
  return {
    tty,
    colour,
    out: (text) => stdout.write(`${text}\n`),
    err: (text) => stderr.write(`${text}\n`),
    json: (value) => stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(output: Pick<Output, 'colour'>, colour: Colour, text: string): string {
  return output.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** The colour of a task or step state. */
export function stateColour(state: string): Colour {
  if (state === 'complete' || state === 'resolved_manually') return 'green';
  if (state === 'error') return 'red';
  if (state === 'cancelled') return 'magenta';
  if (state === 'in_progress') return 'cyan';
  return 'grey';
}

/** Aligns rows into columns (the widths ignore colour codes). */
export function table(rows: readonly (readonly string[])[]): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes to measure width
  const visible = (s: string) => s.replace(/\u001b\[\d+m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** An error as JSON for `--json` callers. */
export function errorJson(error: unknown): {
  error: { code: string; message: string; details?: unknown; existingTaskId?: number };
} {
  if (isTaskerError(error)) {
    return {
      error: {
        code: error.code,
        message: error.message,
        details: error.details,
        ...(error.existingTaskId !== undefined ? { existingTaskId: error.existingTaskId } : {}),
      },
    };
  }
  const e = error as { code?: unknown; message?: unknown };
  return {
    error: {
      code: typeof e?.code === 'string' ? e.code : 'TASKER_CLI_ERROR',
      message: String(e?.message ?? error),
    },
  };
}

/** An error for people: the message (TaskerErrors carry their problem list in it). */
export function errorText(error: unknown): string {
  if (isTaskerError(error)) {
    const listed =
      error.details && !error.message.includes('\n  - ') ? `\n${formatProblems(error.details)}` : '';
    return `${error.message}${listed}`;
  }
  return error instanceof Error ? error.message : String(error);
}
