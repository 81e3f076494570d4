import type { Cluster, Redis } from 'ioredis';

/**
 * @internal Connects a throwaway client (made with lazyConnect and no retries) once, then drops
 * it: resolves when Redis answered. connect() rejects with "Connection is closed." after a refused
 * connect, so it rejects with the client's first error event instead: that one says why.
 */
export async function connectOnce(client: Redis | Cluster): Promise<void> {
  let why: Error | undefined;
  client.on('error', (error: Error) => void (why ??= error));
  try {
    await client.connect();
  } catch (error) {
    throw why ?? error;
  } finally {
    client.disconnect();
  }
}
