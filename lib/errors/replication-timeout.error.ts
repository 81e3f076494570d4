import { StreamQueueError } from './stream-queue.error';

/**
 * An enqueue with `durability` was written, but fewer replicas than asked acknowledged it within
 * `timeoutMs` (Redis WAIT). The task is queued on the master; a failover before it replicates
 * could lose it. `taskId` names it, to check or enqueue again with the same key.
 * @publicApi
 */
export class ReplicationTimeoutError extends StreamQueueError {
  constructor(
    readonly taskId: string,
    readonly replicas: number,
    readonly acknowledged: number,
    readonly timeoutMs: number,
    message = `Task ${taskId} was written, but ${acknowledged} of the ${replicas} replica(s) asked for acknowledged it within ${timeoutMs} ms.`,
    options?: ErrorOptions,
  ) {
    super('REPLICATION_TIMEOUT', message, options);
  }

  /**
   * @internal The task was written, and its WAIT failed (its connection dropped while it waited
   * for the replicas, which ioredis does not resend): no replica is known to have it, so
   * `acknowledged` is 0, and the cause says why.
   */
  static failedWait(taskId: string, replicas: number, timeoutMs: number, cause: Error): ReplicationTimeoutError {
    const message = `Task ${taskId} was written, but the WAIT for ${replicas} replica(s) failed (${cause.message}): no replica is known to have it.`;
    return new ReplicationTimeoutError(taskId, replicas, 0, timeoutMs, message, { cause });
  }
}
