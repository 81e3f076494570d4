import type { BackoffOptions } from './backoff-options.interface';

/**
 * Options of a `@Task()` handler.
 * @publicApi
 */
export interface TaskOptions {
  /** Queue (Redis stream) the task lives on. Default `default`. */
  queue?: string;
  /** Total runs before the task is dead-lettered. Default 3. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Aborts `ctx.signal` and fails the attempt after this long (at most 2^31 - 1). Default: no timeout. */
  timeoutMs?: number;
  /** How long the result stays readable; 0 keeps none, else at least 1 000. Default: the module's `resultTtlMs`. */
  resultTtlMs?: number;
  /**
   * Runs the task periodically, every `every` (milliseconds, or '30s', '5m', '1h'; 10 ms to 10
   * years), once per queue however many workers run it. Its key is `periodic:<name>`; `replace()` re-times it.
   */
  every?: number | string;
  /** Runs the task on a cron schedule (five or six fields), once per queue. */
  cron?: string;
  /** IANA time zone of `cron`. Default: UTC, on every worker whatever its process's zone. */
  timezone?: string;
  /**
   * Most runs of this task at once across all workers (flow control). A run holds its slot from
   * its admission until its settle (or the settle of its reclaim), never a TTL; tasks over the
   * limit wait without spending attempts. On a queue of P partitions each partition enforces a
   * fixed share (floor(N/P), one more for the first N mod P): never more than N at once, but a
   * partition without work leaves its share unused. At least P.
   */
  globalConcurrency?: number;
  /**
   * Most runs of this task at once per `group` (an enqueue option; ungrouped tasks form one group).
   * On a partitioned queue every task of a group goes to its group's partition, so the limit is
   * exact there too.
   */
  groupConcurrency?: number;
  /**
   * Most starts of this task in any `perMs` milliseconds on Redis's clock, across all workers
   * (restarts of a reclaimed run included). Tasks over it wait, without spending attempts, and
   * start as soon as a start leaves the window. On a queue of P partitions each partition
   * enforces a fixed share of `max`, as for `globalConcurrency`; `max` is at least P.
   */
  rateLimit?: RateLimitOptions;
  /**
   * Most starts of this task in any `perMs` milliseconds per `group`. Works on a partitioned queue
   * as `groupConcurrency` does.
   */
  groupRateLimit?: RateLimitOptions;
}

/**
 * A rate limit: at most `max` starts in any interval of `perMs` milliseconds.
 * @publicApi
 */
export interface RateLimitOptions {
  /** A positive integer. */
  max: number;
  /** The window's length in ms, an integer of at least 1. */
  perMs: number;
}
