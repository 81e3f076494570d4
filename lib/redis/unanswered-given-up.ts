import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';

/** ioredis's flush of its queues (an internal method, wrapped only here). */
interface FlushedQueues {
  flushQueue(error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }): void;
}

/** @internal What an error adds for a command that was written and never answered. */
export const SENT = ' This command was sent before the connection dropped and never answered: it may have run.';
/** @internal What an error adds for a command that was never written. */
export const NEVER_SENT = ' This command was never sent: nothing was written.';

/**
 * @internal Turns the error ioredis gives up a command with, after `maxRetriesPerRequest` attempts
 * to reconnect, into the RedisUnreachableError a call given up by offlineTimeoutMs rejects with
 * (unready-wait-bound.ts): ioredis may give up first (its count of failed reconnects reaching a
 * multiple of maxRetriesPerRequest + 1), and a caller got its bare MaxRetriesPerRequestError, with
 * no code and no `mayHaveRun`, for the same outage. ioredis rejects in one flush the commands
 * still waiting to be sent (the offline queue) and those written before the connection dropped
 * whose reply never came (the command queue, which is the queue ioredis would resend on
 * reconnect): one error for both, so an enqueue Redis ran, its reply lost, read as one that wrote
 * nothing, and an app that sent it again ran its task twice. Each queue now gets its own error,
 * `mayHaveRun` saying which; ioredis's is its `cause`. Other flushes (the connection ended for
 * good) are ioredis's own.
 */
export function tellUnansweredApart(redis: Redis, addressOf: () => string): void {
  const queues = redis as unknown as FlushedQueues;
  const flush = queues.flushQueue;
  // An ioredis without it (none of 5 or 6) keeps its own errors.
  if (typeof flush !== 'function') return;
  let lastError: string | undefined;
  redis.on('error', (error: Error) => void (lastError = error.message));
  redis.on('ready', () => void (lastError = undefined));
  queues.flushQueue = function (this: FlushedQueues, error, options) {
    if (error?.name !== 'MaxRetriesPerRequestError') return flush.call(this, error, options);
    const { offlineQueue = true, commandQueue = true } = options ?? {};
    const givenUp = (mayHaveRun: boolean) => {
      const address = addressOf();
      const reason = `ioredis gave the command up: ${error.message}${lastError ? `; last error: ${lastError}` : ''}`;
      const message = `Redis at ${address} could not be reached: ${reason}.${mayHaveRun ? SENT : NEVER_SENT}`;
      return new RedisUnreachableError(address, reason, message, mayHaveRun, { cause: error });
    };
    // ioredis's own flush, once per queue, each with its error: whatever else it does stays its own.
    if (offlineQueue) flush.call(this, givenUp(false), { offlineQueue: true, commandQueue: false });
    if (commandQueue) flush.call(this, givenUp(true), { offlineQueue: false, commandQueue: true });
  };
}

/** @internal Whether `error` is a command ioredis gave up after maxRetriesPerRequest reconnect attempts. */
export function isGivenUpByRetries(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    (error.cause as Error | undefined)?.name === 'MaxRetriesPerRequestError'
  );
}

/** @internal An error of the same class as `error`, its message extended. */
export function withSuffix(error: Error, suffix: string): Error {
  // Its own fields (ioredis sets some, e.g. an aborted command's `command`) are kept.
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  copy.message = error.message + suffix;
  copy.stack = `${error.name}: ${copy.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
  return copy;
}
