import { StreamQueueError } from './stream-queue.error';

/**
 * Redis could not be reached at bootstrap: after every attempt `retryAttempts` allows, by the
 * heartbeat thread's first beat, or no more once it passed the ready check (the command check,
 * COMMAND INFO, went unanswered). Later, a call whose command connection stayed down (or never
 * got ready again) for `offlineTimeoutMs`: then `mayHaveRun` says whether its command was written
 * before the connection dropped (Redis may have run it) or never sent; the same when ioredis gave
 * the call up first (past `maxRetriesPerRequest` reconnect attempts; on a cluster, past
 * `maxRedirections` tries after its node's connection dropped), its error then the `cause`.
 * `address` is host:port (or the socket path), never credentials.
 * @publicApi
 */
export class RedisUnreachableError extends StreamQueueError {
  constructor(
    readonly address: string,
    readonly reason: string,
    message = `Redis at ${address} could not be reached: ${reason}`,
    /** A call given up: whether Redis may have run its command (undefined at bootstrap). */
    readonly mayHaveRun?: boolean,
    /** `cause`: ioredis's own error, when it gave the command up first (MaxRetriesPerRequestError). */
    options?: ErrorOptions,
  ) {
    super('REDIS_UNREACHABLE', message, options);
  }
}
