import type { Redis } from 'ioredis';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from './redis';

/**
 * The per-spec Redis setup: a key prefix of the spec's own and a client, with an `afterAll` that
 * deletes the prefix's keys and closes the spec's clients. Call it in the `describe` body.
 */
export function useSpecRedis(): { readonly prefix: string; readonly redis: Redis } {
  const prefix = randomPrefix();
  const redis = createRedis();
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });
  return { prefix, redis };
}
