import type { Cluster, Redis } from 'ioredis';
import { raceTimeout } from '../race-timeout';

/**
 * @internal Resolves once `redis`, about to be closed by disconnect(), has ended, and within about
 * twice `ms` whatever the peer does. disconnect() ends the socket (a FIN) and the connection ends
 * when the peer closes its side: a peer gone, or a FIN lost on the way, never does, and ioredis
 * cuts the socket only after its `disconnectTimeout` (2 s by default; the user may set more). So
 * a socket still open after `ms` is destroyed here, and its end follows. Taken now, before the
 * disconnect: a connection made again later is never cut. Unref'd: holds no process open.
 */
export function endedWithin(redis: Redis, ms: number): Promise<void> {
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  // A cluster ends once its nodes left its pool, without waiting for their sockets.
  const socket = redis.isCluster ? undefined : redis.stream;
  return raceTimeout(
    ended,
    ms,
    () => {
      socket?.destroy();
      return raceTimeout(ended, ms, () => undefined, { unref: true });
    },
    { unref: true },
  );
}

/**
 * @internal Whether `redis` has ended for good, or is on its way there: closed by quit() or
 * disconnect() (its socket may still read 'ready' for a turn), or given up by its retryStrategy.
 * Such a client never reconnects by itself.
 */
export function closedForGood(redis: Redis | Cluster): boolean {
  if (redis.status === 'end' || redis.status === 'disconnecting') return true;
  return closedByHand(redis);
}

/** @internal Whether `redis` was closed by disconnect() or quit() (ioredis keeps the flag until it connects again). */
export function closedByHand(redis: Redis | Cluster): boolean {
  return (redis as unknown as { manuallyClosing?: boolean }).manuallyClosing === true;
}

/** @internal The option whose give-up ends `redis` for good: a Cluster's clusterRetryStrategy, else retryStrategy. */
export function retryStrategyName(redis: Redis | Cluster): 'clusterRetryStrategy' | 'retryStrategy' {
  return redis.isCluster ? 'clusterRetryStrategy' : 'retryStrategy';
}

/** @internal Why calls on a command connection that ended for good are refused (result() and every other call). */
export function endedForGoodReason(redis: Redis | Cluster): string {
  return `the command connection ended and does not reconnect (its ${retryStrategyName(redis)} gave up, or it was closed under the application)`;
}
