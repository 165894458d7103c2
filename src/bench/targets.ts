/**
 * The targets of the core-engine issue's "Targets" section (PostgreSQL backend, on these 2-core machines,
 * full audit trail kept). A target is met when our median satisfies it.
 */
export interface Target {
  readonly op: '>=' | '<=';
  readonly value: number;
}

export const TARGETS: Readonly<Record<string, Target>> = {
  'w1.tasks_per_s': { op: '>=', value: 3000 },
  'w1d.tasks_per_s': { op: '>=', value: 14000 },
  'w2.chains_per_s': { op: '>=', value: 1000 },
  'w2.handoff_p50_ms': { op: '<=', value: 10 },
  'w3.diamonds_per_s': { op: '>=', value: 800 },
  'w3.join_p50_ms': { op: '<=', value: 10 },
  'w3.fanout_p50_ms': { op: '<=', value: 10 },
  'w2s.handoff_p50_ms': { op: '<=', value: 1 },
  'w2s.handoff_p95_ms': { op: '<=', value: 3 },
  'claim.p50_ratio': { op: '<=', value: 1.2 },
  'claim.throughput_ratio': { op: '<=', value: 1.2 },
  'claim.chains_ratio': { op: '<=', value: 1.2 },
  // Plans made on an empty schema (migration 27) must stay good as it grows.
  'grow.ratio': { op: '<=', value: 1.2 },
  // API edges issue: the status paths within 2x of an empty database at a million finished tasks.
  'status.health_p50_ratio': { op: '<=', value: 2 },
  'status.pending_p50_ratio': { op: '<=', value: 2 },
  'status.complete_p50_ratio': { op: '<=', value: 2 },
};

export function targetMet(target: Target, value: number): boolean {
  return target.op === '>=' ? value >= target.value : value <= target.value;
}
