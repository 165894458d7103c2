/**
 * What a benchmark section is: a name, what it measures, and a function that does one run and returns
 * metrics. The runner calls `run` once per run (3 by default) on each backend and summarizes every
 * metric as median and [min–max]. Sections are listed in sections.ts; adding one is an entry there.
 */
import type { BackendName, BenchBackend } from './backend.js';

export interface Metric {
  /** Stable id, e.g. `w2.handoff_p50_ms`; targets and peer figures are keyed by it. */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly value: number | null;
  readonly better: 'higher' | 'lower';
}

export interface SectionRun {
  readonly metrics: readonly Metric[];
  /** Anything else worth keeping in the JSON (counts, breakdowns). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface SectionContext {
  readonly backend: BenchBackend;
  readonly backendName: BackendName;
  /** The PostgreSQL server's URL (on the pg backend; null on PGlite). */
  readonly databaseUrl: string | null;
  /** The engine's connection pool size on PostgreSQL (--pool). */
  readonly poolSize: number;
  /** The size multiplier for this backend (--scale, times the PGlite factor on PGlite). */
  readonly scale: number;
  readonly concurrency: number;
  /**
   * --prefetch: steps each worker claims beyond `concurrency` in the single-step workloads w1 and w1d (and
   * the scale section's drains), which the peers run with graphile-worker's local queue; the others use 0.
   */
  readonly prefetch: number;
  readonly workers: number;
  /** Run number, from 1. */
  readonly run: number;
  readonly runs: number;
  /** Give up on one workload after this long. */
  readonly timeoutMs: number;
  /** --history: finished tasks of history in section e, instead of 1,000,000 × scale. */
  readonly historyTasks?: number;
  /** Sizes scaled: max(minimum, round(n × scale)). */
  scaled(n: number, minimum?: number): number;
  log(message: string): void;
  /**
   * A value shared by the runs of this section on this backend (e.g. a generated history), made on first
   * use and disposed after the section's last run.
   */
  shared<T>(key: string, create: () => Promise<T>, dispose: (value: T) => Promise<void>): Promise<T>;
}

export interface BenchSection {
  /** Short key used by --only (e.g. `a`, `http`). */
  readonly key: string;
  readonly title: string;
  readonly description: string;
  /** Backends it runs on. @defaultValue both */
  readonly backends?: readonly BackendName[];
  run(ctx: SectionContext): Promise<SectionRun>;
}

export function metric(
  id: string,
  label: string,
  unit: string,
  value: number | null,
  better: Metric['better'],
): Metric {
  return { id, label, unit, value: value !== null && Number.isFinite(value) ? value : null, better };
}
