import type { Redis } from 'ioredis';

/** ioredis's flush of its queues (an internal method, wrapped only here). */
interface FlushedQueues {
  flushQueue(error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }): void;
}

/** @internal What an error adds for a command that was written and never answered. */
export const SENT = ' This command was sent before the connection dropped and never answered: it may have run.';
/** @internal What an error adds for a command that was never written. */
export const NEVER_SENT = ' This command was never sent: nothing was written.';

/**
 * @internal Makes the error ioredis gives up a command with, after `maxRetriesPerRequest` attempts
 * to reconnect, say whether Redis may have run it. ioredis rejects in one flush the commands still
 * waiting to be sent (the offline queue) and those written before the connection dropped whose
 * reply never came (the command queue, which is the queue ioredis would resend on reconnect):
 * one MaxRetriesPerRequestError for both, so an enqueue Redis ran, its reply lost, read as one
 * that wrote nothing, and an app that sent it again ran its task twice. The error keeps its class
 * (code checking for it still does); its message tells the two apart, as ApplicationClosedError's
 * does at close. Other flushes (the connection ended for good) are ioredis's own.
 */
export function tellUnansweredApart(redis: Redis): void {
  const queues = redis as unknown as FlushedQueues;
  const flush = queues.flushQueue;
  // An ioredis without it (none of 5 or 6) keeps its own errors.
  if (typeof flush !== 'function') return;
  queues.flushQueue = function (this: FlushedQueues, error, options) {
    if (error?.name !== 'MaxRetriesPerRequestError') return flush.call(this, error, options);
    const { offlineQueue = true, commandQueue = true } = options ?? {};
    // ioredis's own flush, once per queue, each with its error: whatever else it does stays its own.
    if (offlineQueue) flush.call(this, withSuffix(error, NEVER_SENT), { offlineQueue: true, commandQueue: false });
    if (commandQueue) flush.call(this, withSuffix(error, SENT), { offlineQueue: false, commandQueue: true });
  };
}

/** @internal An error of the same class as `error`, its message extended. */
export function withSuffix(error: Error, suffix: string): Error {
  // Its own fields (ioredis sets some, e.g. an aborted command's `command`) are kept.
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  copy.message = error.message + suffix;
  copy.stack = `${error.name}: ${copy.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`;
  return copy;
}
