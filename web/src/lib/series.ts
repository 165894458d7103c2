/**
 * The overview's history, rebuilt from the most recent tasks (their creation and finishing times), so
 * the chart and the rates have data as soon as the page opens: per time bucket, how many tasks were
 * created, how many were active (pending or running at some point of the bucket), and how many finished
 * in each final state.
 */
export interface TaskTimes {
  readonly state: string;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly updatedAt: string;
}

export const SERIES = ['created', 'active', 'complete', 'error', 'cancelled'] as const;
export type SeriesName = (typeof SERIES)[number];

export interface Bucket {
  readonly at: number;
  readonly counts: Readonly<Record<SeriesName, number>>;
}

export interface History {
  readonly start: number;
  readonly bucketMs: number;
  readonly buckets: readonly Bucket[];
}

const FINAL = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);

function finishedAt(task: TaskTimes): number | null {
  if (!FINAL.has(task.state)) return null;
  return Date.parse(task.completedAt ?? task.updatedAt);
}

/** Buckets covering from the oldest task (at most `maxSpanMs` back) to now. */
export function historyOf(
  tasks: readonly TaskTimes[],
  now: number,
  bucketCount = 20,
  maxSpanMs = 60 * 60_000,
): History {
  const oldest = Math.min(now, ...tasks.map((t) => Date.parse(t.createdAt)).filter(Number.isFinite));
  const span = Math.min(maxSpanMs, Math.max(60_000, now - oldest));
  const bucketMs = Math.ceil(span / bucketCount);
  const start = now - bucketMs * bucketCount;
  const buckets = Array.from({ length: bucketCount }, (_, i) => ({
    at: start + i * bucketMs,
    counts: { created: 0, active: 0, complete: 0, error: 0, cancelled: 0 } as Record<SeriesName, number>,
  }));
  const index = (t: number) => Math.floor((t - start) / bucketMs);
  for (const task of tasks) {
    const created = Date.parse(task.createdAt);
    const finished = finishedAt(task);
    const c = index(created);
    if (c >= 0 && c < bucketCount) buckets[c]!.counts.created += 1;
    if (finished !== null) {
      const f = index(finished);
      const state = task.state === 'resolved_manually' ? 'complete' : task.state;
      if (f >= 0 && f < bucketCount && (state === 'complete' || state === 'error' || state === 'cancelled')) {
        buckets[f]!.counts[state] += 1;
      }
    }
    const until = finished === null ? bucketCount - 1 : index(finished);
    for (let i = Math.max(0, c); i <= Math.min(until, bucketCount - 1); i++) buckets[i]!.counts.active += 1;
  }
  return { start, bucketMs, buckets };
}

export interface Rates {
  /** Tasks that finished (complete or error) per minute over the history. */
  readonly throughputPerMin: number;
  /** Share of them that ended in error; null when none finished. */
  readonly errorRate: number | null;
}

export function ratesOf(history: History): Rates {
  let done = 0;
  let failed = 0;
  for (const b of history.buckets) {
    done += b.counts.complete;
    failed += b.counts.error;
  }
  const minutes = (history.bucketMs * history.buckets.length) / 60_000;
  return {
    throughputPerMin: (done + failed) / minutes,
    errorRate: done + failed > 0 ? failed / (done + failed) : null,
  };
}

/** Points of an SVG polyline per series, scaled into width x height. */
export function chartLines(
  history: History,
  series: readonly SeriesName[],
  width: number,
  height: number,
): Array<{ name: SeriesName; points: string; total: number }> {
  const n = history.buckets.length;
  if (n === 0) return [];
  const max = Math.max(1, ...history.buckets.flatMap((b) => series.map((s) => b.counts[s])));
  return series.map((name) => ({
    name,
    total:
      name === 'active'
        ? (history.buckets[n - 1]?.counts.active ?? 0)
        : history.buckets.reduce((sum, b) => sum + b.counts[name], 0),
    points: history.buckets
      .map((b, i) => {
        const x = n === 1 ? width : (i / (n - 1)) * width;
        const y = height - (b.counts[name] / max) * height;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' '),
  }));
}
