import type { Redis } from 'ioredis';
import { watchEndedOnItsOwn } from './connection-end';
import { endedError, refuseOnceEnded, type EndedCalls } from './ended-refusal';
import { addMethodLayer, type MethodLayer } from './method-layers';
import { takeOutSelected, type CommandFilter, type FlushArgs, type FlushedQueues } from './module-commands';

/** What ioredis rejects a client's queues with as it ends (CONNECTION_CLOSED_ERROR_MSG). */
const CLOSED = 'Connection is closed.';

/**
 * @internal Types the calls a client of one node still held when it ended for good (its
 * retryStrategy gave up) while the application is open (`isClosed` false): ioredis rejects in one
 * flush, with its bare `Connection is closed.`, those waiting to be sent (the offline queue) and
 * those written and never answered (the command queue), so an enqueue Redis may have run read as
 * one that wrote nothing. Each queue now gets the RedisUnreachableError of a call made after the
 * end (ended-refusal.ts), `mayHaveRun` saying which, ioredis's error its `cause`. `calls.ended`
 * says whether the end is one the module types (on a client handed in: ended on its own, not
 * closed by hand); with `calls.only`, the module's commands alone, the rest keep ioredis's error.
 * Returns its removal.
 */
export function typeEndedQueues(
  redis: Redis,
  addressOf: () => string,
  isClosed: () => boolean,
  { only, ended = () => true }: EndedCalls = {},
): () => void {
  const typed: MethodLayer<FlushedQueues, FlushArgs, void> = (self, flush, error, options) => {
    // ioredis sets 'end' before it flushes: an end, not a drop it reconnects from.
    if (error?.message !== CLOSED || redis.status !== 'end' || isClosed() || !ended())
      return flush(self, error, options);
    const { offlineQueue = true, commandQueue = true } = options ?? {};
    const [never, sent] = [endedError(addressOf(), redis, false, error), endedError(addressOf(), redis, true, error)];
    if (only) {
      // The module's commands taken out first, each with its error; ioredis flushes the rest.
      if (offlineQueue) takeOutSelected(self.offlineQueue, only, () => never);
      if (commandQueue) takeOutSelected(self.commandQueue, only, () => sent);
      return flush(self, error, options);
    }
    // ioredis's own flush, once per queue, each with its error.
    if (offlineQueue) flush(self, never, { offlineQueue: true, commandQueue: false });
    if (commandQueue) flush(self, sent, { offlineQueue: false, commandQueue: true });
  };
  return addMethodLayer(redis as unknown as FlushedQueues, 'flushQueue', typed);
}

/**
 * @internal The module's calls on a `Redis` client handed in as `connection` (`only`), once it
 * ended on its own (its retryStrategy gave up): those it held then (typeEndedQueues) and those
 * made after (refuseOnceEnded) get the RedisUnreachableError the module's own connection gives,
 * where they kept ioredis's bare `Connection is closed.` as if the user had closed it. A client
 * the user closed, and the application's own commands, keep ioredis's error. Returns the removal.
 */
export function typeHandedInEnd(
  redis: Redis,
  addressOf: () => string,
  isClosed: () => boolean,
  only: CommandFilter,
): () => void {
  const { endedOnItsOwn, remove } = watchEndedOnItsOwn(redis);
  const calls = { only, ended: endedOnItsOwn };
  const removals = [
    remove,
    typeEndedQueues(redis, addressOf, isClosed, calls),
    refuseOnceEnded(redis, addressOf, isClosed, calls),
  ];
  return () => removals.forEach((removal) => removal());
}
