import type { Cluster, Redis } from 'ioredis';
import { raceTimeout } from '../race-timeout';
import { disconnect } from './disconnect';
import { connectTimeoutOf } from './redis-readiness';

/**
 * @internal Connects a throwaway client (made with lazyConnect and no retries) once, then drops
 * it: resolves when Redis answered. connect() rejects with "Connection is closed." after a refused
 * connect, so it rejects with the client's first error event instead: that one says why.
 */
export async function connectOnce(client: Redis | Cluster): Promise<void> {
  let why: Error | undefined;
  client.on('error', (error: Error) => void (why ??= error));
  try {
    // Bounded: a frozen Redis never answers the ready check; the client is dropped below either way.
    const ms = connectTimeoutOf(client);
    await raceTimeout(client.connect(), ms, () => {
      throw new Error(`connected, but no answer to the ready check within ${ms} ms`);
    });
  } catch (error) {
    throw why ?? error;
  } finally {
    // Refused, the client has ended already; timed out, its handshake is unanswered (see disconnect).
    disconnect(client);
  }
}
