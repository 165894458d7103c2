/**
 * The overview's history, rebuilt from the most recent tasks (their creation and finishing times), so
 * the chart and the rates have data as soon as the page opens: per time bucket, how many tasks were
 * created and how many finished in each final state. Buckets have round sizes (5 s, 1 min, 5 min...) and
 * start on round times, so the chart's time axis reads plainly.
 */
export interface TaskTimes {
  readonly state: string;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly updatedAt: string;
}

export const SERIES = ['created', 'complete', 'error', 'cancelled'] as const;
export type SeriesName = (typeof SERIES)[number];
/** The finished series, stacked in one bar per bucket. */
export const OUTCOMES = ['complete', 'error', 'cancelled'] as const;

export interface Bucket {
  readonly at: number;
  readonly counts: Readonly<Record<SeriesName, number>>;
}

export interface History {
  readonly start: number;
  /** When the history was taken (inside the last bucket). */
  readonly now: number;
  readonly bucketMs: number;
  readonly buckets: readonly Bucket[];
}

/** Bucket sizes that read well on an axis. */
const ROUND_MS = [1, 2, 5, 10, 15, 30]
  .map((s) => s * 1000)
  .concat([1, 2, 5, 10, 15, 30, 60].map((m) => m * 60_000));

const FINAL = new Set(['complete', 'error', 'cancelled', 'resolved_manually']);

function finishedAt(task: TaskTimes): number | null {
  if (!FINAL.has(task.state)) return null;
  return Date.parse(task.completedAt ?? task.updatedAt);
}

/** Buckets of a round size covering from the oldest task (at most `maxSpanMs` back, at least a minute) to now. */
export function historyOf(
  tasks: readonly TaskTimes[],
  now: number,
  maxBuckets = 20,
  maxSpanMs = 60 * 60_000,
): History {
  const oldest = Math.min(now, ...tasks.map((t) => Date.parse(t.createdAt)).filter(Number.isFinite));
  const span = Math.min(maxSpanMs, Math.max(60_000, now - oldest));
  const bucketMs = ROUND_MS.find((ms) => ms * maxBuckets >= span) ?? ROUND_MS[ROUND_MS.length - 1]!;
  const end = (Math.floor(now / bucketMs) + 1) * bucketMs;
  const count = Math.min(maxBuckets, Math.ceil(span / bucketMs) + 1);
  const start = end - count * bucketMs;
  const buckets = Array.from({ length: count }, (_, i) => ({
    at: start + i * bucketMs,
    counts: { created: 0, complete: 0, error: 0, cancelled: 0 } as Record<SeriesName, number>,
  }));
  const index = (t: number) => Math.floor((t - start) / bucketMs);
  for (const task of tasks) {
    const c = index(Date.parse(task.createdAt));
    if (c >= 0 && c < count) buckets[c]!.counts.created += 1;
    const finished = finishedAt(task);
    if (finished === null) continue;
    const f = index(finished);
    const state = task.state === 'resolved_manually' ? 'complete' : task.state;
    if (f >= 0 && f < count && (state === 'complete' || state === 'error' || state === 'cancelled')) {
      buckets[f]!.counts[state] += 1;
    }
  }
  return { start, now, bucketMs, buckets };
}

export interface Rates {
  /** Tasks that finished (complete or in error) in the window. */
  readonly finished: number;
  /** Of them, in error. */
  readonly failed: number;
  /** Finished tasks per minute over the window. */
  readonly throughputPerMin: number;
  /** failed / finished; null when none finished. Cancelled tasks count in neither. */
  readonly errorRate: number | null;
  /** The window, from the first bucket to now. */
  readonly windowMs: number;
}

export function ratesOf(history: History): Rates {
  let done = 0;
  let failed = 0;
  for (const b of history.buckets) {
    done += b.counts.complete;
    failed += b.counts.error;
  }
  const windowMs = Math.max(1, history.now - history.start);
  return {
    finished: done + failed,
    failed,
    throughputPerMin: (done + failed) / (windowMs / 60_000),
    errorRate: done + failed > 0 ? failed / (done + failed) : null,
    windowMs,
  };
}

/** Up to `most` + 1 whole-number ticks from 0 to a round maximum at or above `max`. */
export function countTicks(max: number, most = 5): number[] {
  const top = Math.max(1, Math.ceil(max));
  const step =
    [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => top / s <= most) ?? Math.ceil(top / most);
  const ticks: number[] = [];
  for (let v = 0; v < top + step; v += step) ticks.push(v);
  return ticks;
}

export interface ChartBar {
  readonly at: number;
  readonly x: number;
  readonly width: number;
  /** The created bar, beside the stack of finished ones. */
  readonly created: { readonly y: number; readonly height: number; readonly count: number };
  readonly finished: ReadonlyArray<{
    readonly name: (typeof OUTCOMES)[number];
    readonly y: number;
    readonly height: number;
    readonly count: number;
  }>;
}

export interface ChartLayout {
  readonly bars: readonly ChartBar[];
  /** Count ticks with their y. */
  readonly yTicks: ReadonlyArray<{ readonly value: number; readonly y: number }>;
  /** Bucket starts to label, at most `labels` of them, evenly spaced, with their x. */
  readonly xTicks: ReadonlyArray<{ readonly at: number; readonly x: number }>;
  readonly totals: Readonly<Record<SeriesName, number>>;
}

/** Bars for each bucket in a plot area of `width` x `height` (y grows downwards, 0 at the bottom). */
export function chartLayout(history: History, width: number, height: number, labels = 5): ChartLayout {
  const n = history.buckets.length;
  const totals = { created: 0, complete: 0, error: 0, cancelled: 0 };
  let max = 0;
  for (const b of history.buckets) {
    for (const s of SERIES) totals[s] += b.counts[s];
    max = Math.max(
      max,
      b.counts.created,
      OUTCOMES.reduce((sum, s) => sum + b.counts[s], 0),
    );
  }
  const ticks = countTicks(max);
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => height - (v / top) * height;
  const slot = n > 0 ? width / n : width;
  const barWidth = Math.max(1, slot * 0.38);
  const bars = history.buckets.map((b, i): ChartBar => {
    const x = i * slot + slot * 0.1;
    let level = 0;
    const finished = OUTCOMES.filter((name) => b.counts[name] > 0).map((name) => {
      const from = level;
      level += b.counts[name];
      return { name, y: y(level), height: y(from) - y(level), count: b.counts[name] };
    });
    return {
      at: b.at,
      x,
      width: barWidth,
      created: { y: y(b.counts.created), height: height - y(b.counts.created), count: b.counts.created },
      finished,
    };
  });
  const every = Math.max(1, Math.ceil(n / labels));
  const xTicks = history.buckets
    .map((b, i) => ({ at: b.at, x: i * slot }))
    .filter((_, i) => (n - 1 - i) % every === 0 && i > 0);
  return { bars, yTicks: ticks.map((value) => ({ value, y: y(value) })), xTicks, totals };
}
