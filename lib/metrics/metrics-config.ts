import { register, type Registry } from 'prom-client';
import { InvalidOptionError } from '../errors';
import { snapshotOptions } from '../options-snapshot';
import { MAX_TIMER_MS } from '../stream-queue.constants';
import { checkName } from '../task/resolved-task-options';
import type { StreamQueueMetricsOptions } from './metrics-options.interface';

/** @internal Metrics options with defaults applied; queues stay undefined for "this process's". */
export interface MetricsConfig {
  readonly registry: Registry;
  readonly queues: readonly string[] | undefined;
  readonly durationBuckets: readonly number[];
  readonly timeoutMs: number;
}

/** Handler run times from a few ms to a minute: most tasks are short, some are slow. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** @internal Applies defaults and validates; throws InvalidOptionError naming the option. */
export function resolveMetricsConfig(raw: StreamQueueMetricsOptions | undefined): MetricsConfig {
  // Read once, first: an option whose getter throws is refused by name (snapshotOptions).
  const options = snapshotOptions(raw ?? {}, '', ['registry', 'queues', 'durationBuckets', 'timeoutMs']);
  if (typeof options !== 'object') throw new InvalidOptionError('options', 'an object', raw);
  const registry = options.registry ?? register;
  if (typeof (registry as Partial<Registry>).registerMetric !== 'function') {
    throw new InvalidOptionError('registry', 'a prom-client Registry (the one your /metrics serves)', registry);
  }
  const { queues, durationBuckets = DEFAULT_BUCKETS, timeoutMs = 1_000 } = options;
  if (queues !== undefined && !Array.isArray(queues)) {
    throw new InvalidOptionError('queues', 'an array of queue names', queues);
  }
  queues?.forEach((queue, i) => checkName(`queues[${i}]`, queue));
  const increasing =
    Array.isArray(durationBuckets) &&
    durationBuckets.length > 0 &&
    durationBuckets.every(
      (b, i) => typeof b === 'number' && b > 0 && Number.isFinite(b) && (i === 0 || b > durationBuckets[i - 1]),
    );
  if (!increasing) {
    throw new InvalidOptionError('durationBuckets', 'increasing positive numbers of seconds', durationBuckets);
  }
  // A Node timer: past MAX_TIMER_MS it would fire after 1 ms.
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new InvalidOptionError('timeoutMs', `an integer from 1 to ${MAX_TIMER_MS}`, timeoutMs);
  }
  return { registry, queues: queues && [...new Set(queues)], durationBuckets: [...durationBuckets], timeoutMs };
}
