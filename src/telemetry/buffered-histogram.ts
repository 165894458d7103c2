/**
 * A Prometheus histogram whose series count in plain numbers. prom-client's own `observe` validates and
 * hashes the labels on every call, even on a labelled child (about 1.5 µs, measured): with a handful of
 * observations per step, that was a third of what the metrics cost. Here a series is looked up once
 * (`series(labels)`) and observing is a bucket search and three additions; the registry reads the series
 * through `get`, the method every prom-client metric answers the registry with.
 *
 * Only `series()` and `observe(labels, value)` feed it; prom-client's `labels()`, `startTimer()`, `zero()`
 * and `remove()` throw, and exemplars are not supported.
 */
import { Histogram, type Registry } from 'prom-client';

export interface HistogramSeries {
  observe(value: number): void;
}

type HistogramData<L extends string> = Awaited<ReturnType<Histogram<L>['get']>>;
type Labels<L extends string> = Readonly<Record<L, string>>;

interface Series<L extends string> extends HistogramSeries {
  readonly labels: Labels<L>;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class BufferedHistogram<L extends string> extends Histogram<L> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly L[];
  readonly #series = new Map<string, Series<L>>();

  constructor(config: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registers: Registry[];
  }) {
    super({ ...config, labelNames: [...config.labelNames], buckets: [...config.buckets] });
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
    this.#labelNames = config.labelNames;
    // prom-client's constructor sets `observe` on the instance: `observe(labels, value)` goes to the series
    // (for rare events; hot paths keep their series at hand).
    Object.defineProperty(this, 'observe', {
      value: (labels: Labels<L>, value: number) => this.series(labels).observe(value),
    });
  }

  /** The series of one label set (every label name given), made on first use. */
  series(labels: Labels<L>): HistogramSeries {
    const key = this.#labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.#series.get(key);
    if (series === undefined) {
      for (const name of this.#labelNames) {
        if (typeof labels[name] !== 'string') {
          throw new TypeError(`histogram ${this.#name}: label "${name}" must be a string`);
        }
      }
      series = newSeries(
        Object.fromEntries(this.#labelNames.map((n) => [n, labels[n]])) as Labels<L>,
        this.#bounds,
      );
      this.#series.set(key, series);
    }
    return series;
  }

  override async get(): Promise<HistogramData<L>> {
    return this.#data(true);
  }

  /** What the registry reads for its text exposition (prom-client prefers it to `get` when present). */
  async getForPromString(): Promise<HistogramData<L>> {
    return this.#data(false);
  }

  /**
   * The series as prom-client's histogram gives them: for the text, each value's own labels (`le`) apart
   * from its series' (`sharedLabels`); for `get`, in one object, `le` first.
   */
  #data(splay: boolean): HistogramData<L> {
    const name = this.#name;
    const values: Array<Record<string, unknown>> = [];
    const push = (
      labels: Record<string, string | number>,
      shared: Labels<L>,
      value: number,
      metricName: string,
      exemplar: null | undefined,
    ) =>
      values.push(
        splay
          ? { value, metricName, exemplar, labels: { ...labels, ...shared } }
          : { labels, sharedLabels: shared, value, metricName, exemplar },
      );
    for (const s of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!;
        push({ le: this.#bounds[i]! }, s.labels, cumulative, `${name}_bucket`, null);
      }
      push({ le: '+Inf' }, s.labels, s.count, `${name}_bucket`, null);
      push({}, s.labels, s.sum, `${name}_sum`, undefined);
      push({}, s.labels, s.count, `${name}_count`, undefined);
    }
    // prom-client's typings give `type` as an enum and ask for `collect`; its registry reads the fields here
    // (name, help, type as its text, values, aggregator), as the Histogram's own `get` gives them.
    return {
      name,
      help: this.#help,
      type: 'histogram',
      values,
      aggregator: 'sum',
    } as unknown as HistogramData<L>;
  }

  override reset(): void {
    // prom-client's constructor resets too, before this class's fields exist.
    if (#series in this) this.#series.clear();
  }

  override labels(): never {
    throw new TypeError(`histogram ${this.#name}: use series(labels)`);
  }
  override startTimer(): never {
    throw new TypeError(`histogram ${this.#name}: startTimer is not supported`);
  }
  override zero(): never {
    throw new TypeError(`histogram ${this.#name}: zero is not supported`);
  }
  override remove(): never {
    throw new TypeError(`histogram ${this.#name}: remove is not supported`);
  }
}

function newSeries<L extends string>(labels: Labels<L>, bounds: readonly number[]): Series<L> {
  const series: Series<L> = {
    labels,
    counts: new Array<number>(bounds.length + 1).fill(0),
    sum: 0,
    count: 0,
    observe(value) {
      if (!Number.isFinite(value)) return;
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      series.counts[i]!++;
      series.sum += value;
      series.count++;
    },
  };
  return series;
}
