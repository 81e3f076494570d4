import type { Redis } from 'ioredis';
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
