import type { ConnectionOptions } from './connection-options.interface';
import type { DurabilityOptions } from './durability-options.interface';

/**
 * Options of `StreamQueueModule.forRoot()` / `forRootAsync()`. Every field but `connection`
 * has a default; invalid values fail bootstrap with the option's name.
 * @publicApi
 */
export interface StreamQueueModuleOptions {
  connection: ConnectionOptions;
  /** Namespace of every key, so several applications can share one Redis. Default `sq`. */
  prefix?: string;
  /** Handlers running at once, per queue, in this process. Default 10. */
  concurrency?: number;
  /** false: a producer-only process that never consumes. Default true. */
  worker?: boolean;
  /** A worker is presumed dead this long after its last heartbeat. Default 30 000; at most 2^31 - 1. */
  leaseMs?: number;
  /** Heartbeat period; must be under a third of `leaseMs`. Default `leaseMs / 6`. */
  heartbeatIntervalMs?: number;
  /** Period of the reclaim and promote sweeps. Default 2 000; at most 2^31 - 1 (a Node timer). */
  sweepIntervalMs?: number;
  /**
   * A main event loop blocked longer than this gives up its tasks. Default 60 000; at least 500:
   * the loop stamps its progress every 100 ms, so under about 100 ms even an idle, healthy worker
   * looks stalled at every heartbeat and loses its lease for good, and 500 leaves room for timer
   * lateness and GC pauses.
   */
  maxStallMs?: number;
  /** Deliveries of one message before it is dead-lettered as poison. Default 5. */
  maxDeliveries?: number;
  /** How long `app.close()` waits for in-flight handlers before aborting them. Default 10 000; at most 2^31 - 1. */
  shutdownTimeoutMs?: number;
  /** How long results and run state are kept; 0 keeps none once settled, else at least 1 000. Default 3 600 000 (1 hour). */
  resultTtlMs?: number;
  /**
   * Flow control: a waiting task's rank is its enqueue time plus (priority - 1) times this, so a
   * priority-10 task waits at most 9 times this beyond its place. Default 1 000.
   */
  priorityAgingMs?: number;
  /** Largest accepted encoded payload. Default 1 048 576 (1 MiB). */
  maxPayloadBytes?: number;
  /** Approximate cap of each dead-letter stream. Default 10 000. */
  deadLetterMaxLen?: number;
  /** Longest wait of one blocking read, bounding shutdown latency. Default 1 000. */
  blockMs?: number;
  /** Completions wait this long to be acknowledged together; 0: those of one event-loop turn. Default 0. */
  ackBatchMs?: number;
  /**
   * Bootstrap tries to reach Redis this many more times after a first failure, then fails with a
   * `RedisUnreachableError`. Default 9 (as @nestjs/typeorm); 0 fails at the first failure.
   */
  retryAttempts?: number;
  /** Milliseconds between those attempts. Default 3 000. */
  retryDelay?: number;
  /**
   * Once booted, the longest a call waits for its command connection while that is down (Redis
   * away, restarting, or connected but not answering): it then rejects with a
   * `RedisUnreachableError` whose `mayHaveRun` says whether its command was sent before the drop.
   * Counted from the call, or from the drop for a command sent before it. On a client handed in
   * as `connection`, the module's own commands only; on a Redis Cluster, while the cluster client
   * itself is not ready (README, Configuration). Default 10 000.
   */
  offlineTimeoutMs?: number;
  /**
   * Every `enqueue()` and `replace()` waits for this many replicas (Redis WAIT), unless its own
   * `durability` says otherwise. Default: none (an enqueue resolves once the master has it).
   */
  durability?: DurabilityOptions;

  /**
   * Every run enters an async context of its own, read with `currentTask()`. Default false (on
   * Node 20 an AsyncLocalStorage slows every promise a little): runs of tasks with interceptors
   * get one anyway.
   */
  runContext?: boolean;

  /**
   * Per-queue settings, by queue name. Producers and workers of a queue must configure the same
   * `partitions` (a process whose count differs from the one stored in Redis gets a
   * `PartitionLayoutError`). See the README, "Partitioned queues".
   */
  queues?: { [queue: string]: QueueOptions };
}

/**
 * Settings of one queue.
 * @publicApi
 */
export interface QueueOptions {
  /**
   * Streams (hash slots) the queue is spread over, from 1 to 1024. Default 1: the queue's keys
   * keep their single hash tag. Keyed tasks always go to their key's partition; unkeyed ones
   * spread evenly.
   */
  partitions?: number;
}
