import { Histogram, Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { BufferedHistogram } from '../../src/telemetry/buffered-histogram.js';

const buckets = [0.005, 0.01, 0.1, 1];
const config = { name: 'job_seconds', help: 'Job time.', labelNames: ['queue', 'outcome'] as const, buckets };
const observations: Array<[{ queue: string; outcome: string }, number]> = [
  [{ queue: 'a', outcome: 'ok' }, 0],
  [{ queue: 'a', outcome: 'ok' }, 0.005], // on a bound: counted in that bucket
  [{ queue: 'a', outcome: 'ok' }, 0.0051],
  [{ queue: 'a', outcome: 'ok' }, 0.5],
  [{ queue: 'a', outcome: 'ok' }, 7], // above the last bound: +Inf only
  [{ queue: 'b', outcome: 'failed' }, 0.02],
  [{ queue: 'b', outcome: 'failed' }, 0.02],
];

/** The same observations in prom-client's own histogram and in ours, each in its registry. */
function both() {
  const theirs = new Registry();
  const ours = new Registry();
  for (const r of [theirs, ours]) r.setDefaultLabels({ service: 'shop' });
  const reference = new Histogram({ ...config, labelNames: [...config.labelNames], registers: [theirs] });
  const buffered = new BufferedHistogram({ ...config, registers: [ours] });
  const series = buffered.series({ queue: 'a', outcome: 'ok' });
  for (const [labels, value] of observations) {
    reference.observe(labels, value);
    if (labels.queue === 'a') series.observe(value);
    else buffered.observe(labels, value); // looked up by value, as the rare events do
  }
  return { theirs, ours, buffered };
}

describe('BufferedHistogram', () => {
  test("gives the registry the same text and JSON as prom-client's histogram for the same observations", async () => {
    const { theirs, ours } = both();
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('job_seconds_bucket{le="0.005",service="shop",queue="a",outcome="ok"} 2');
    expect(text).toContain('job_seconds_bucket{le="+Inf",service="shop",queue="a",outcome="ok"} 5');
    expect(text).toContain('job_seconds_sum{service="shop",queue="b",outcome="failed"} 0.04');
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  test('reset empties it; the ways of feeding it that it does not support throw', async () => {
    const { ours, buffered } = both();
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('job_seconds_bucket');
    expect(() => buffered.labels()).toThrow(/series\(labels\)/);
    expect(() => buffered.startTimer()).toThrow(TypeError);
    expect(() => buffered.series({ queue: 'a' } as { queue: string; outcome: string })).toThrow(
      /label "outcome" must be a string/,
    );
  });
});
