/**
 * Retention policies: how long finished tasks are kept, by final state, by default and per namespace or
 * template. Pure: turns the policy into the prune rules the maintenance job runs (one per scope and state
 * group), each excluding the templates a more specific entry decides for.
 *
 * A state group an entry leaves unset falls back to the namespace's entry, then to the default;
 * `forever` keeps that group (and still overrides what is less specific). `resolved_manually` tasks
 * follow the `complete` setting: they ended well, by hand.
 */
import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** '30d', '12h', '90m', '45s', '500ms', '2w', a number of milliseconds, or 'forever'. */
export const retentionAgeSchema = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(
      /^(forever|\d+(\.\d+)?(ms|s|m|h|d|w))$/,
      "expected a duration such as 30d, 12h or 90m, or 'forever'",
    ),
]);
export type RetentionAge = z.infer<typeof retentionAgeSchema>;

const ages = {
  /** Complete (and resolved by hand) tasks. @defaultValue kept forever */
  complete: retentionAgeSchema.optional(),
  /** Tasks that failed for good (state error). @defaultValue kept forever */
  error: retentionAgeSchema.optional(),
  /** Cancelled tasks. @defaultValue kept forever */
  cancelled: retentionAgeSchema.optional(),
};

export const retentionOptionsSchema = z
  .object({
    ...ages,
    /** Entries for a namespace, or one template of it (`name`), overriding the ages above. */
    templates: z
      .array(z.object({ namespace: z.string().min(1), name: z.string().min(1).optional(), ...ages }).strict())
      .optional(),
    /** How often a worker runs the retention job. @defaultValue 3600000 (an hour) */
    intervalMs: z.number().int().min(1000).optional(),
    /** Tasks removed per transaction. @defaultValue 500 */
    batchSize: z.number().int().min(1).max(10_000).optional(),
    /**
     * Move expired tasks into the archive (monthly partitions, read back through the API) instead of
     * deleting them. docs/operations.md#archiving
     */
    archive: z
      .object({
        /** Drop an archive partition this many months after its month ended. @defaultValue kept forever */
        keepMonths: z.union([z.number().int().min(0).max(1200), z.literal('forever')]).optional(),
        /** Partitions created ahead of the current month. @defaultValue 2 */
        createAheadMonths: z.number().int().min(0).max(24).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    for (const [i, entry] of (value.templates ?? []).entries()) {
      const key = entry.name ? `${entry.namespace}/${entry.name}` : entry.namespace;
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['templates', i], message: `a second entry for ${key}` });
      }
      seen.add(key);
    }
  });
export type RetentionOptions = z.input<typeof retentionOptionsSchema>;

export const STATE_GROUPS = {
  complete: ['complete', 'resolved_manually'],
  error: ['error'],
  cancelled: ['cancelled'],
} as const;
export type StateGroup = keyof typeof STATE_GROUPS;

/** One DELETE scope: tasks of these states finished more than olderThanMs ago, in this scope. */
export interface PruneRule {
  readonly namespace: string | null;
  readonly name: string | null;
  readonly states: readonly string[];
  readonly olderThanMs: number;
  /** 'namespace' or 'namespace/name' entries decided by a more specific entry. */
  readonly exclude: readonly string[];
}

/** Milliseconds, or null for forever. */
export function retentionAgeMs(age: RetentionAge): number | null {
  if (typeof age === 'number') return age;
  if (age === 'forever') return null;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(age)!;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

type Entry = { namespace: string; name?: string | undefined } & Partial<Record<StateGroup, RetentionAge>>;

/** The rules a policy comes to; none when it keeps everything. */
export function retentionRules(options: RetentionOptions): PruneRule[] {
  const entries: Entry[] = options.templates ?? [];
  const key = (e: Entry) => (e.name ? `${e.namespace}/${e.name}` : e.namespace);
  const rules: PruneRule[] = [];
  for (const group of Object.keys(STATE_GROUPS) as StateGroup[]) {
    const deciding = entries.filter((e) => e[group] !== undefined);
    const add = (
      scope: { namespace: string | null; name: string | null },
      age: RetentionAge | undefined,
      exclude: string[],
    ) => {
      const ms = age === undefined ? null : retentionAgeMs(age);
      if (ms !== null) rules.push({ ...scope, states: STATE_GROUPS[group], olderThanMs: ms, exclude });
    };
    add({ namespace: null, name: null }, options[group], deciding.map(key));
    for (const entry of deciding) {
      const exclude = entry.name
        ? []
        : deciding.filter((e) => e.name && e.namespace === entry.namespace).map(key);
      add({ namespace: entry.namespace, name: entry.name ?? null }, entry[group], exclude);
    }
  }
  return rules;
}

export const FINISHED_STATES = ['complete', 'error', 'cancelled', 'resolved_manually'] as const;

/** `tasker.prune(...)`, `tasker prune`: one rule given by hand. */
export const pruneRequestSchema = z
  .object({
    /** Finished longer ago than this ('30d', '12h', milliseconds). */
    olderThan: retentionAgeSchema.refine((age) => age !== 'forever', 'expected a duration, not forever'),
    /** Which final states. @defaultValue every finished state */
    states: z.array(z.enum(FINISHED_STATES)).min(1).optional(),
    /** Only tasks of this namespace. */
    namespace: z.string().min(1).optional(),
    /** Only tasks of this template name (with namespace). */
    name: z.string().min(1).optional(),
    /** Count what would be removed; remove nothing. @defaultValue false */
    dryRun: z.boolean().optional(),
    /** Tasks removed per transaction. @defaultValue the retention batchSize (500) */
    batchSize: z.number().int().min(1).max(10_000).optional(),
    /** Move the tasks into the archive instead of deleting them. @defaultValue false */
    archive: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.name === undefined || r.namespace !== undefined, {
    path: ['name'],
    message: 'expected namespace too: a template name is looked up in its namespace',
  });
export type PruneRequest = z.input<typeof pruneRequestSchema>;

/** The rule a request by hand comes to. */
export function pruneRequestRule(request: z.output<typeof pruneRequestSchema>): PruneRule {
  return {
    namespace: request.namespace ?? null,
    name: request.name ?? null,
    states: request.states ?? FINISHED_STATES,
    olderThanMs: retentionAgeMs(request.olderThan) ?? 0,
    exclude: [],
  };
}

export interface ResolvedArchive {
  /** Months a partition is kept after its month ended; null: forever. */
  readonly keepMonths: number | null;
  readonly createAheadMonths: number;
}

export interface ResolvedRetention {
  /** Empty: no retention job (everything is kept). */
  readonly rules: readonly PruneRule[];
  readonly intervalMs: number;
  readonly batchSize: number;
  /** Set: expired tasks are archived, not deleted. */
  readonly archive: ResolvedArchive | null;
}

export function resolveRetention(
  options: z.output<typeof retentionOptionsSchema> | undefined,
): ResolvedRetention {
  return {
    rules: options ? retentionRules(options) : [],
    intervalMs: options?.intervalMs ?? 3_600_000,
    batchSize: options?.batchSize ?? 500,
    archive: options?.archive
      ? {
          keepMonths: options.archive.keepMonths === 'forever' ? null : (options.archive.keepMonths ?? null),
          createAheadMonths: options.archive.createAheadMonths ?? 2,
        }
      : null,
  };
}
