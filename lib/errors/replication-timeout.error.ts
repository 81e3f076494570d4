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
  ) {
    super(
      'REPLICATION_TIMEOUT',
      `Task ${taskId} was written, but ${acknowledged} of the ${replicas} replica(s) asked for acknowledged it within ${timeoutMs} ms.`,
    );
  }
}
