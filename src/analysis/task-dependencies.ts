/**
 * Dependency analysis of one task's steps: levels, critical path, bottlenecks and parallelism, from the
 * steps as the engine returns them. Pure functions (no I/O): `analyzeTask` is what the API serves.
 */
import type { Step, TaskWithSteps } from '../model/types.js';
import {
  type Bottleneck,
  type BottleneckWeights,
  DEFAULT_BOTTLENECK_WEIGHTS,
  findBottlenecks,
} from './bottlenecks.js';
import { type CriticalPath, criticalPath, type TaskTiming } from './critical-path.js';
import type { GraphStep } from './graph-step.js';

export type { GraphStep };

/** From an engine step: the recorded duration is last attempt start to completion. */
export function toGraphStep(step: Step): GraphStep {
  const durationMs =
    step.completedAt && step.lastAttemptedAt
      ? Math.max(0, step.completedAt.getTime() - step.lastAttemptedAt.getTime())
      : null;
  return {
    id: step.id,
    name: step.name,
    state: step.state,
    // Numbers whatever the driver gave (bigint arrays may arrive as strings).
    parentIds: step.parentIds.map(Number),
    childIds: step.childIds.map(Number),
    attempts: step.attempts,
    retryLimit: step.retryLimit,
    blocked: step.blocked,
    durationMs,
    lastAttemptedAtMs: step.lastAttemptedAt?.getTime() ?? null,
    completedAtMs: step.completedAt?.getTime() ?? null,
  };
}

/**
 * Level of each step: 0 for roots, otherwise 1 + the highest parent level (the longest chain above it).
 * Throws on a cycle or a parent that is not among the steps (engine tasks have neither).
 */
export function dependencyLevels(steps: readonly GraphStep[]): Map<number, number> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const levels = new Map<number, number>();
  const visiting = new Set<number>();
  const level = (id: number): number => {
    const known = levels.get(id);
    if (known !== undefined) return known;
    const step = byId.get(id);
    if (!step) throw new Error(`step ${id} is named as a parent but is not part of the task`);
    if (visiting.has(id)) throw new Error(`the steps form a cycle through step ${id}`);
    visiting.add(id);
    const value = step.parentIds.length === 0 ? 0 : 1 + Math.max(...step.parentIds.map(level));
    visiting.delete(id);
    levels.set(id, value);
    return value;
  };
  for (const step of steps) level(step.id);
  return levels;
}

/** Topological order (by level, then id): parents always come before children. */
export function topologicalOrder(steps: readonly GraphStep[], levels = dependencyLevels(steps)): GraphStep[] {
  return [...steps].sort((a, b) => levels.get(a.id)! - levels.get(b.id)! || a.id - b.id);
}

export interface ParallelismPotential {
  /** Number of levels: the fewest sequential rounds the task needs. */
  readonly depth: number;
  /** Most steps on one level: the most that can run at once. */
  readonly maxWidth: number;
  /** Steps per level on average. */
  readonly averageWidth: number;
  /** Sum of step durations / critical path duration: the speed-up unlimited workers give over one. */
  readonly speedup: number;
  /** Steps on each level, from level 0. */
  readonly widths: readonly number[];
}

export function parallelismPotential(
  steps: readonly GraphStep[],
  levels: ReadonlyMap<number, number>,
  path: CriticalPath,
): ParallelismPotential {
  if (steps.length === 0) return { depth: 0, maxWidth: 0, averageWidth: 0, speedup: 1, widths: [] };
  const widths: number[] = [];
  for (const level of levels.values()) widths[level] = (widths[level] ?? 0) + 1;
  const total = steps.reduce((sum, s) => sum + (path.durations.get(s.id) ?? 0), 0);
  return {
    depth: widths.length,
    maxWidth: Math.max(...widths),
    averageWidth: round2(steps.length / widths.length),
    speedup: path.durationMs > 0 ? round2(total / path.durationMs) : 1,
    widths,
  };
}

export interface DependencyAnalysisOptions {
  /** Estimated durations by step name, for steps that have not run (e.g. from `tasker.slowestSteps`). */
  readonly estimatesMs?: Readonly<Record<string, number>>;
  /** Estimate for a step with neither a recorded duration nor an estimate. @defaultValue mean of recorded, else 1000 */
  readonly defaultEstimateMs?: number;
  readonly weights?: Partial<BottleneckWeights>;
  /** Most bottlenecks returned. @defaultValue 5 */
  readonly maxBottlenecks?: number;
  /** The task's clock (analyzeTask takes it from the task); without it, steps count for their recorded attempt. */
  readonly timing?: TaskTiming;
  /** "Now" for a running task, in ms since the epoch. @defaultValue Date.now() */
  readonly nowMs?: number;
}

export interface DependencyAnalysis {
  readonly taskId: number;
  readonly levels: ReadonlyArray<{ readonly stepId: number; readonly name: string; readonly level: number }>;
  readonly criticalPath: {
    readonly steps: readonly string[];
    readonly stepIds: readonly number[];
    readonly durationMs: number;
    /** Steps on the path whose duration is an estimate (they have not finished). */
    readonly estimated: readonly string[];
  };
  readonly bottlenecks: readonly Bottleneck[];
  readonly parallelism: ParallelismPotential;
}

/** The whole analysis of a task. */
export function analyzeTask(
  task: TaskWithSteps,
  options: DependencyAnalysisOptions = {},
): DependencyAnalysis {
  // Compensation steps run after the task failed: they are not part of how long it took.
  const steps = task.steps.filter((s) => s.compensation === null);
  return analyzeSteps(task.id, steps.map(toGraphStep), {
    timing: taskTiming(task, options.nowMs ?? Date.now()),
    ...options,
  });
}

/** The task's clock: started when its first step did, "now" frozen at its end once it finished. */
export function taskTiming(
  task: Pick<TaskWithSteps, 'state' | 'startedAt' | 'completedAt'>,
  nowMs: number,
): TaskTiming {
  const active = task.state === 'pending' || task.state === 'in_progress';
  return {
    startedAtMs: task.startedAt?.getTime() ?? null,
    nowMs: active ? nowMs : (task.completedAt?.getTime() ?? nowMs),
    active,
  };
}

export function analyzeSteps(
  taskId: number,
  steps: readonly GraphStep[],
  options: DependencyAnalysisOptions = {},
): DependencyAnalysis {
  const levels = dependencyLevels(steps);
  const path = criticalPath(steps, options);
  const weights = { ...DEFAULT_BOTTLENECK_WEIGHTS, ...(options.weights ?? {}) };
  const names = new Map(steps.map((s) => [s.id, s.name]));
  return {
    taskId,
    levels: topologicalOrder(steps, levels).map((s) => ({
      stepId: s.id,
      name: s.name,
      level: levels.get(s.id)!,
    })),
    criticalPath: {
      steps: path.stepIds.map((id) => names.get(id)!),
      stepIds: path.stepIds,
      durationMs: path.durationMs,
      estimated: path.stepIds.filter((id) => path.estimated.has(id)).map((id) => names.get(id)!),
    },
    bottlenecks: findBottlenecks(steps, path, weights).slice(0, options.maxBottlenecks ?? 5),
    parallelism: parallelismPotential(steps, levels, path),
  };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
