import type { Cluster, Redis } from 'ioredis';
import { raceTimeout } from '../race-timeout';
import { addMethodLayer, type MethodLayer } from './method-layers';

/** ioredis's status setter (internal, wrapped only here): every transition goes through it. */
interface StatusSetter {
  setStatus(status: string, ...rest: unknown[]): void;
}

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

/**
 * @internal Whether `redis` (one node) ended on its own, its retryStrategy having given up, rather
 * than closed by hand (quit() or disconnect()): ioredis clears its flag (manuallyClosing) as the
 * connection closes, before it ends and rejects what it held, so the end alone cannot tell them
 * apart. The flag is read as ioredis marks the close (status 'close'), on each close. Returns the
 * reading and its removal (a client handed in outlives the application).
 */
export function watchEndedOnItsOwn(redis: Redis): { endedOnItsOwn: () => boolean; remove: () => void } {
  let byHand = false;
  const marked: MethodLayer<StatusSetter, [status: string, ...rest: unknown[]], void> = (
    self,
    set,
    status,
    ...rest
  ) => {
    if (status === 'close') byHand = closedByHand(redis);
    set(self, status, ...rest);
  };
  // One wrapper on the client for every application booted on it (see addMethodLayer).
  const remove = addMethodLayer(redis as unknown as StatusSetter, 'setStatus', marked);
  return { endedOnItsOwn: () => redis.status === 'end' && !byHand, remove };
}
