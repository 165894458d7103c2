/**
 * What kinds of step a template may declare (docs/workflows.md): `step` runs its handler; `decision`
 * chooses which of the steps below it run; `sleep` waits for a duration or until a time; `signal` waits
 * for a named signal sent to its task; `subtask` starts a child task and completes with its results;
 * `batch` fans out to one worker step per item; `compensation` runs only when its task fails for good
 * (an `undo` of a completed step, or the template's `onFailure`). The waits and subtasks run no handler
 * of yours and hold no worker slot while they wait.
 */
import { z } from 'zod';

export const STEP_KINDS = [
  'step',
  'decision',
  'sleep',
  'signal',
  'subtask',
  'batch',
  'compensation',
] as const;

/** Most worker steps one batch step may create, unless it says otherwise (`batch.maxItems`). */
export const DEFAULT_MAX_BATCH_ITEMS = 10_000;
/** What a task may hold in all (positions are smallints). */
export const MAX_BATCH_ITEMS = 30_000;
export type StepKind = (typeof STEP_KINDS)[number];

/** The built-in handler that ends a wait (registered by every Tasker). */
export const WAIT_HANDLER_NAME = 'tasker:wait';

/** Longest sleep or signal timeout: a year and a day. */
export const MAX_WAIT_MS = 366 * 24 * 3600 * 1000;

const KEY_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const waitMs = z
  .number({ error: 'expected whole milliseconds' })
  .int('expected whole milliseconds')
  .positive('expected a positive number of milliseconds')
  .max(MAX_WAIT_MS, `expected at most ${MAX_WAIT_MS} ms (366 days)`);

export const sleepSchema = z
  .object({
    /** Sleep this long once the step is ready. */
    ms: waitMs.optional(),
    /** Sleep until the time (ISO 8601) at this context path. */
    until: z
      .string()
      .transform((s) => s.replace(/^context\./, ''))
      .pipe(z.string().regex(KEY_PATH, 'expected a context path such as "remindAt"'))
      .optional(),
  })
  .strict()
  .refine((s) => (s.ms === undefined) !== (s.until === undefined), {
    message: 'expected one of ms or until',
  });

export const signalWaitSchema = z
  .object({
    /** The signal's name: `tasker.signal(taskId, name, payload)`. */
    name: z
      .string({ error: 'expected a signal name' })
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits, "_", ".", ":" or "-"'),
    /** Fail the step when no signal came this long after it began to wait. */
    timeoutMs: waitMs.optional(),
    /** Whether that failure is retried (the next attempt waits again). @defaultValue false */
    timeoutRetryable: z.boolean().optional(),
  })
  .strict();

export const subtaskSchema = z
  .object({
    namespace: z.string().min(1).max(64).optional(),
    name: z.string({ error: 'expected the name of the child task' }).min(1).max(64),
    version: z.string().min(1).max(64).optional(),
    /** A context path whose object is the child's context; default: the parent's whole context. */
    context: z
      .string()
      .transform((s) => s.replace(/^context\./, ''))
      .pipe(z.string().regex(KEY_PATH, 'expected a context path such as "shipment"'))
      .optional(),
  })
  .strict();

export type SubtaskDefinition = z.input<typeof subtaskSchema>;
export type SleepDefinition = z.input<typeof sleepSchema>;
export type SignalWaitDefinition = z.input<typeof signalWaitSchema>;

/** A wait as a template holds it. */
export type TemplateWait =
  | { readonly kind: 'sleep'; readonly ms: number | null; readonly untilPath: readonly string[] | null }
  | {
      readonly kind: 'signal';
      readonly name: string;
      readonly timeoutMs: number | null;
      readonly timeoutRetryable: boolean;
    };
