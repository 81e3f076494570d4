import type { Registry } from 'prom-client';

/**
 * Options of `StreamQueueMetricsModule.forRoot()` / `forRootAsync()`.
 * @publicApi
 */
export interface StreamQueueMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's default registry. */
  registry?: Registry;
  /**
   * Queues whose depth gauges are read from Redis at scrape time (one `inspect()` per queue per
   * scrape: per partition a script call and a PTTL per listed consumer). Default: the queues this process has handlers for; a producer-only process names them.
   */
  queues?: string[];
  /** Buckets of `stream_queue_task_duration_seconds`, in seconds. Default 5 ms to 60 s. */
  durationBuckets?: number[];
  /**
   * How long a scrape waits for a queue's gauges, in ms: a queue Redis has not answered for by
   * then is left out of that scrape, with a warning. Default 1 000.
   */
  timeoutMs?: number;
}
