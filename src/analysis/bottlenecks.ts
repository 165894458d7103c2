/**
 * Bottlenecks: the steps that hold up the most of a task, scored as in the original's dependency_graph
 * configuration (reference section 9), with the same default weights and severity thresholds:
 *
 *   score = downstream × downstreamWeight + blockedDownstream × blockedWeight
 *         + (on the critical path ? pathLength × pathLengthWeight : 0)
 *         + (failed: errorPenalty) + (blocked itself: blockedPenalty) + retries × retryPenalty
 *         − (complete or resolved: completedPenalty), never below 0
 *
 * downstream: steps below it (transitively); blockedDownstream: those of them that cannot run until it is
 * done (not finished); pathLength: steps on the critical path; retries: attempts beyond the first.
 * severity: critical ≥ 100, high ≥ 50, medium ≥ 20, otherwise low.
 */
import { z } from 'zod';
import type { CriticalPath } from './critical-path.js';
import type { GraphStep } from './graph-step.js';

export interface BottleneckWeights {
  readonly downstreamWeight: number;
  readonly blockedWeight: number;
  readonly pathLengthWeight: number;
  readonly completedPenalty: number;
  readonly blockedPenalty: number;
  readonly errorPenalty: number;
  readonly retryPenalty: number;
  readonly criticalThreshold: number;
  readonly highThreshold: number;
  readonly mediumThreshold: number;
}

export const DEFAULT_BOTTLENECK_WEIGHTS: BottleneckWeights = Object.freeze({
  downstreamWeight: 5,
  blockedWeight: 15,
  pathLengthWeight: 10,
  completedPenalty: 15,
  blockedPenalty: 25,
  errorPenalty: 30,
  retryPenalty: 10,
  criticalThreshold: 100,
  highThreshold: 50,
  mediumThreshold: 20,
});

const weight = z.number().min(0).max(1_000_000);
/** Validates partial weights (createTasker's telemetry.bottleneckWeights). */
export const bottleneckWeightsSchema = z
  .object(
    Object.fromEntries(Object.keys(DEFAULT_BOTTLENECK_WEIGHTS).map((k) => [k, weight.optional()])) as Record<
      keyof BottleneckWeights,
      z.ZodOptional<typeof weight>
    >,
  )
  .strict();

export type Severity = 'critical' | 'high' | 'medium' | 'low';

export interface Bottleneck {
  readonly stepId: number;
  readonly name: string;
  readonly state: string;
  readonly impactScore: number;
  readonly severity: Severity;
  readonly downstream: number;
  readonly blockedDownstream: number;
  readonly onCriticalPath: boolean;
  readonly retries: number;
  readonly durationMs: number;
  readonly durationEstimated: boolean;
}

const FINISHED = new Set(['complete', 'resolved_manually', 'skipped', 'cancelled']);
const DONE = new Set(['complete', 'resolved_manually', 'skipped']);

export function severityOf(score: number, w: BottleneckWeights): Severity {
  if (score >= w.criticalThreshold) return 'critical';
  if (score >= w.highThreshold) return 'high';
  if (score >= w.mediumThreshold) return 'medium';
  return 'low';
}

/** Every step scored, highest impact first (ties: longer duration, then lower id). */
export function findBottlenecks(
  steps: readonly GraphStep[],
  path: CriticalPath,
  weights: BottleneckWeights = DEFAULT_BOTTLENECK_WEIGHTS,
): Bottleneck[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const below = new Map<number, Set<number>>();
  const descendants = (id: number): Set<number> => {
    const known = below.get(id);
    if (known) return known;
    const set = new Set<number>();
    below.set(id, set); // before recursing: a cycle ends here instead of looping
    for (const child of byId.get(id)?.childIds ?? []) {
      set.add(child);
      for (const d of descendants(child)) set.add(d);
    }
    return set;
  };
  const onPath = new Set(path.stepIds);
  const result = steps.map((step): Bottleneck => {
    const down = [...descendants(step.id)];
    const unfinished = DONE.has(step.state)
      ? []
      : down.filter((id) => !FINISHED.has(byId.get(id)?.state ?? ''));
    const retries = Math.max(0, step.attempts - 1);
    let score =
      down.length * weights.downstreamWeight +
      unfinished.length * weights.blockedWeight +
      (onPath.has(step.id) ? path.stepIds.length * weights.pathLengthWeight : 0) +
      retries * weights.retryPenalty;
    if (step.state === 'error') score += weights.errorPenalty;
    if (step.blocked) score += weights.blockedPenalty;
    if (DONE.has(step.state)) score -= weights.completedPenalty;
    const impactScore = Math.max(0, Math.round(score * 100) / 100);
    return {
      stepId: step.id,
      name: step.name,
      state: step.state,
      impactScore,
      severity: severityOf(impactScore, weights),
      downstream: down.length,
      blockedDownstream: unfinished.length,
      onCriticalPath: onPath.has(step.id),
      retries,
      durationMs: path.durations.get(step.id) ?? 0,
      durationEstimated: path.estimated.has(step.id),
    };
  });
  return result.sort(
    (a, b) => b.impactScore - a.impactScore || b.durationMs - a.durationMs || a.stepId - b.stepId,
  );
}
