import { Histogram } from 'prom-client';

/** The part of an observation sink the metrics listener calls per settled run. */
export interface DurationSink {
  observe(seconds: number): void;
}

/** One labelled series in prom-client's Histogram table, as `zero()` creates it. */
interface HistogramEntry {
  labels: object;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** prom-client's per-series table: a private field, read only where foldsIntoHistogram() vouched for it. */
const tableOf = (histogram: Histogram<string>) =>
  (histogram as unknown as { hashMap?: Record<string, HistogramEntry | undefined> }).hashMap;

/**
 * @internal Run durations of one labelled series, counted in plain numbers and folded into
 * prom-client's Histogram when a scrape reads it (the histogram's collect()). Histogram.observe()
 * validates and hashes the labels on every call, even through a label child: about 1 µs, and the
 * metrics listener runs once per task.
 *
 * prom-client has no call that adds many observations at once, so fold() adds them to the series'
 * entry in the histogram's own table (created through the public zero()). foldsIntoHistogram()
 * checks, once per process, that the installed prom-client keeps that table as expected; where it
 * does not, the metrics observe each run through the public API instead.
 */
export class DurationTally implements DurationSink {
  /** Observations per bucket: counts[i] are those above bounds[i - 1] and at most bounds[i]. */
  private readonly counts: number[];
  private sum = 0;
  private total = 0;
  /** The key of this series' entry in the histogram's table, once found. */
  private key?: string;

  constructor(
    private readonly histogram: Histogram<string>,
    private readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    // Above the last bound: only the +Inf bucket (the count) holds it, as prom-client does.
    if (i < bounds.length) this.counts[i]++;
    this.sum += seconds;
    this.total++;
  }

  /** Adds what was observed since the last fold to the histogram. */
  fold(): void {
    if (this.total === 0) return;
    const entry = this.entry();
    for (let i = 0; i < this.bounds.length; i++) {
      entry.bucketValues[this.bounds[i]] += this.counts[i];
      this.counts[i] = 0;
    }
    entry.sum += this.sum;
    entry.count += this.total;
    this.sum = 0;
    this.total = 0;
  }

  /** The series' entry; made anew (at zero) after a reset() of the histogram emptied the table. */
  private entry(): HistogramEntry {
    const table = tableOf(this.histogram)!;
    const known = this.key === undefined ? undefined : table[this.key];
    if (known?.labels === this.labels) return known;
    this.histogram.zero(this.labels);
    this.key = Object.keys(table).find((key) => table[key]?.labels === this.labels);
    return table[this.key!]!;
  }
}

/**
 * @internal Whether DurationTally can fold into this process's prom-client: a tally folded into
 * one histogram must read back exactly as prom-client's own observe() of the same values into
 * another. Checked once, on histograms registered nowhere.
 */
export async function foldsIntoHistogram(): Promise<boolean> {
  const bounds = [0.1, 1];
  const values = [0.05, 0.1, 0.5, 2];
  const make = () =>
    new Histogram({ name: 'fold_probe', help: 'probe', labelNames: ['l'], buckets: bounds, registers: [] });
  try {
    const folded = make();
    const table = tableOf(folded);
    if (typeof table !== 'object' || table === null) return false;
    const tally = new DurationTally(folded, { l: 'x' }, bounds);
    for (const value of values) tally.observe(value);
    tally.fold();
    const observed = make();
    for (const value of values) observed.observe({ l: 'x' }, value);
    return JSON.stringify(await folded.get()) === JSON.stringify(await observed.get());
  } catch {
    return false;
  }
}
