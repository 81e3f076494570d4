/** @internal Metadata key written by `@Task()`. */
export const TASK_METADATA = 'nest-stream-queue:task';
/** @internal Resolved, validated, frozen configuration. */
export const STREAM_QUEUE_CONFIG = Symbol('STREAM_QUEUE_CONFIG');
/** @internal Queue used when neither the task nor the call names one. */
export const DEFAULT_QUEUE = 'default';
/** @internal Consumer group every worker of a queue joins. */
export const CONSUMER_GROUP = 'workers';
/**
 * @internal Longest delay a Node timer honours: setTimeout and setInterval turn a longer one into
 * 1 ms. Every duration that becomes a timer is bounded by it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal Most partitions of one queue: each is a stream every worker reads and sweeps. */
export const MAX_PARTITIONS = 1_024;
