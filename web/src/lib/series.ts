/**
 * The overview's history: counts by state sampled over time while the page is open (the status endpoint
 * only gives the present), plus throughput and error rate derived from consecutive samples.
 */
export interface Sample {
  readonly at: number;
  readonly byState: Readonly<Record<string, number>>;
}

export function addSample(samples: readonly Sample[], sample: Sample, keep = 120): Sample[] {
  return [...samples, sample].slice(-keep);
}

export interface Rates {
  /** Tasks finished per minute (complete + error) between the first and last sample. */
  readonly throughputPerMin: number | null;
  /** Share of finished tasks that ended in error over the same window. */
  readonly errorRate: number | null;
}

export function ratesOf(samples: readonly Sample[]): Rates {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at <= first.at) return { throughputPerMin: null, errorRate: null };
  const delta = (state: string) => Math.max(0, (last.byState[state] ?? 0) - (first.byState[state] ?? 0));
  const done = delta('complete');
  const failed = delta('error');
  const minutes = (last.at - first.at) / 60_000;
  return {
    throughputPerMin: (done + failed) / minutes,
    errorRate: done + failed > 0 ? failed / (done + failed) : null,
  };
}

/** Points of an SVG polyline per state, scaled into width x height. */
export function chartLines(
  samples: readonly Sample[],
  states: readonly string[],
  width: number,
  height: number,
): Array<{ state: string; points: string; last: number }> {
  if (samples.length === 0) return [];
  const first = samples[0]!.at;
  const span = Math.max(1, samples[samples.length - 1]!.at - first);
  const max = Math.max(1, ...samples.flatMap((s) => states.map((state) => s.byState[state] ?? 0)));
  return states.map((state) => ({
    state,
    last: samples[samples.length - 1]!.byState[state] ?? 0,
    points: samples
      .map((s) => {
        const x = samples.length === 1 ? width : ((s.at - first) / span) * width;
        const y = height - ((s.byState[state] ?? 0) / max) * height;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' '),
  }));
}
