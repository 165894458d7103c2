/**
 * The dead-letter view of a running engine: failure groups (by fingerprint) with their category and a
 * resolution hint, and the failed steps of one group. Hints use the failing step's template (its timeout
 * and dependent system) when it is registered here, and the rules users add before the built-in ones.
 */
import type { TemplateRegistry } from '../definitions/registry.js';
import type { ErrorCategory } from '../diagnostics/classify.js';
import { BUILTIN_HINT_RULES, categoryOf, type HintRule, hintFor, retryAdvice } from '../diagnostics/hints.js';
import { TaskerError } from '../errors.js';
import { type FailureFilterInput, failureFilterSchema } from '../model/contracts.js';
import { parseOrThrow } from '../parse-or-throw.js';
import {
  type AttemptStats,
  attemptStats,
  type FailedStepRow,
  type FailureGroupRow,
  failedSteps,
  failureGroups,
  retryingWith,
  stepDurationP95,
} from './sql/failure-queries.js';
import type { SqlContext } from './sql/sql-context.js';

export type { FailureFilterInput };

/** The window of the retry statistics. */
const STATS_DAYS = 7;

export interface FailureGroup extends FailureGroupRow {
  readonly category: ErrorCategory;
  /** Steps failing with the same fingerprint right now, waiting for their next attempt. */
  readonly retryingNow: number;
  /**
   * For the steps that failed with it over the last 7 days: per attempt number (from 2), how many
   * reached it and how many succeeded there.
   */
  readonly retryStats: AttemptStats[];
  /** What to do about it, and the rule that said so (docs/diagnostics.md). */
  readonly hint: string;
  readonly hintRule: string;
}

export type FailedStep = FailedStepRow;

export interface FailureViews {
  /** Steps that failed for good, grouped by fingerprint, largest group first. */
  failures(filter?: FailureFilterInput): Promise<FailureGroup[]>;
  /** The failed steps of one group, newest first. */
  failedSteps(fingerprint: string, filter?: FailureFilterInput): Promise<FailedStep[]>;
  /** Adds a hint rule, tried before the built-in ones (and before rules added earlier). */
  addHintRule(rule: HintRule): void;
}

export function createFailureViews(deps: {
  sql: SqlContext;
  db: <T>(fn: () => Promise<T>) => Promise<T>;
  registry: TemplateRegistry;
}): FailureViews {
  const { sql, db, registry } = deps;
  const custom: HintRule[] = [];
  const parse = (filter: FailureFilterInput | undefined) => {
    const f = parseOrThrow(failureFilterSchema, filter ?? {}, 'failure filter', 'TASKER_INVALID_REQUEST');
    return { ...f, since: f.since === undefined ? undefined : new Date(f.since) };
  };
  const stepOf = (a: FailureGroupRow['affected'][number] | undefined) => {
    if (!a) return undefined;
    return registry.find(a.namespace, a.name, a.version)?.steps.find((s) => s.name === a.step);
  };
  return {
    async failures(filter) {
      const groups = await db(() => failureGroups(sql, parse(filter)));
      const retrying = await db(() =>
        retryingWith(
          sql,
          groups.map((g) => g.fingerprint),
        ),
      );
      const stats = new Map<string, AttemptStats[]>();
      for (const g of groups)
        stats.set(g.fingerprint, await db(() => attemptStats(sql, g.fingerprint, STATS_DAYS)));
      const p95s = new Map<string, number | null>();
      for (const g of groups) {
        // Only where a hint uses it: a scan of the step's last day of successes.
        if (categoryOf(g.sample) === 'timeout' && g.affected[0]) {
          p95s.set(g.fingerprint, await db(() => stepDurationP95(sql, g.affected[0]!)));
        }
      }
      return groups.map((g) => {
        const step = stepOf(g.affected[0]);
        const category = categoryOf(g.sample);
        const { rule, text } = hintFor(
          {
            ...g,
            category,
            timeoutMs: step?.timeoutMs ?? null,
            dependentSystem: step?.dependentSystem ?? null,
            retryingNow: retrying.get(g.fingerprint) ?? 0,
            p95DurationMs: p95s.get(g.fingerprint) ?? null,
          },
          [...custom, ...BUILTIN_HINT_RULES],
        );
        const retryStats = stats.get(g.fingerprint) ?? [];
        const advice = retryAdvice(retryStats, { days: STATS_DAYS, retryLimit: step?.retryLimit ?? null });
        return {
          ...g,
          category,
          retryingNow: retrying.get(g.fingerprint) ?? 0,
          retryStats,
          hint: text + advice,
          hintRule: rule,
        };
      });
    },
    failedSteps: (fingerprint, filter) => db(() => failedSteps(sql, fingerprint, parse(filter))),
    addHintRule(rule) {
      if (
        typeof rule?.name !== 'string' ||
        typeof rule.matches !== 'function' ||
        typeof rule.hint !== 'function'
      ) {
        throw new TaskerError(
          'TASKER_INVALID_DEFINITION',
          'a hint rule needs a name, a matches(failure) function and a hint(failure) function',
        );
      }
      custom.unshift(rule);
    },
  };
}
