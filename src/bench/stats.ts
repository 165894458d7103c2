/**
 * Small statistics for the benchmark: percentiles by nearest rank (the same rule as the peers' harness
 * in ../shared/peers/lib/common.js, so latency figures compare), and median with range across runs.
 */

/** The p-th percentile (0-100) of values sorted ascending, by nearest rank; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? null;
}

/** Sorts a copy ascending (numbers, not strings). */
export function sortedCopy(values: Iterable<number>): number[] {
  return [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/** The middle value (the mean of the two middle ones for an even count); null when there are none. */
export function median(values: readonly number[]): number | null {
  const s = sortedCopy(values);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every run's value, in run order. */
  readonly values: readonly number[];
}

/** Median and range of the runs' values; null when no run produced a value. */
export function summarize(values: readonly (number | null)[]): Summary | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (present.length === 0) return null;
  return {
    median: median(present)!,
    min: Math.min(...present),
    max: Math.max(...present),
    values: present,
  };
}

/** Rounds to a number of significant decimals that suits the magnitude (for display and JSON). */
export function roundFigure(value: number): number {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
