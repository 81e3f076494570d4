import { Histogram, Registry } from 'prom-client';
import { DurationTally, foldsIntoHistogram } from '../../lib/metrics/duration-tally';

describe('DurationTally (run durations folded into prom-client when scraped)', () => {
  const bounds = [0.005, 0.05, 0.5];
  /** A histogram in a registry of its own, folding `tallies` on every read. */
  const histogram = (tallies: DurationTally[] = []) => {
    const registry = new Registry();
    const metric = new Histogram({
      name: 'run_seconds',
      help: 'runs',
      labelNames: ['queue', 'task'],
      buckets: bounds,
      registers: [registry],
      collect: () => tallies.forEach((t) => t.fold()),
    });
    return { registry, metric };
  };
  // Below, at and above each bound, past the last one, zero, and a value that is not a number.
  const values = [0, 0.001, 0.005, 0.0051, 0.05, 0.2, 0.5, 0.51, 7, Number.NaN];

  it('is vouched for by the installed prom-client', async () => {
    await expect(foldsIntoHistogram()).resolves.toBe(true);
  });

  it('reads exactly as prom-client observing the same runs, across scrapes and series', async () => {
    const tallies: DurationTally[] = [];
    const folded = histogram(tallies);
    const observed = histogram();
    const a = new DurationTally(folded.metric, { queue: 'q', task: 'a' }, bounds);
    const b = new DurationTally(folded.metric, { queue: 'q', task: 'b' }, bounds);
    tallies.push(a, b);
    const observe = (tally: DurationTally, task: string, value: number) => {
      tally.observe(value);
      if (Number.isFinite(value)) observed.metric.observe({ queue: 'q', task }, value);
    };
    for (const v of values) observe(a, 'a', v);
    expect(await folded.registry.metrics()).toBe(await observed.registry.metrics());
    // A scrape with nothing new reads the same; later runs add to what was folded.
    expect(await folded.registry.metrics()).toBe(await observed.registry.metrics());
    for (const v of values) observe(b, 'b', v);
    observe(a, 'a', 0.3);
    expect(await folded.registry.metrics()).toBe(await observed.registry.metrics());
    expect(await folded.registry.metrics()).toContain('run_seconds_count{queue="q",task="a"} 10');
  });

  it('starts again from zero after the registry resets its metrics', async () => {
    const tallies: DurationTally[] = [];
    const folded = histogram(tallies);
    const tally = new DurationTally(folded.metric, { queue: 'q', task: 'a' }, bounds);
    tallies.push(tally);
    tally.observe(0.01);
    await folded.registry.metrics();
    folded.registry.resetMetrics();
    tally.observe(0.2);
    tally.observe(1);
    const text = await folded.registry.metrics();
    expect(text).toContain('run_seconds_count{queue="q",task="a"} 2');
    expect(text).toContain('run_seconds_bucket{le="0.05",queue="q",task="a"} 0');
    expect(text).toContain('run_seconds_bucket{le="0.5",queue="q",task="a"} 1');
    expect(text).toContain('run_seconds_sum{queue="q",task="a"} 1.2');
  });
});
