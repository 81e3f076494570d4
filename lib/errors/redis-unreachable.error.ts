import { StreamQueueError } from './stream-queue.error';

/**
 * Redis could not be reached at bootstrap: after every attempt `retryAttempts` allows, by the
 * heartbeat thread's first beat, or no more once it passed the ready check (the command check,
 * COMMAND INFO, went unanswered). `address` is host:port (or the socket path), never credentials.
 * @publicApi
 */
export class RedisUnreachableError extends StreamQueueError {
  constructor(
    readonly address: string,
    readonly reason: string,
    message = `Redis at ${address} could not be reached: ${reason}`,
  ) {
    super('REDIS_UNREACHABLE', message);
  }
}
