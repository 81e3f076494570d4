import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A key prefix no other test file (or earlier run) uses: `sq-test-<uuid>`, within the module's
 * `prefix` rules. Give each test file its own, and `cleanupPrefix()` it afterwards.
 * @publicApi
 */
export function testPrefix(): string {
  return `sq-test-${randomUUID()}`;
}

/**
 * Deletes every key under `prefix`: the module's hash-tagged keys (`{<prefix>:<queue>}:stream`, …)
 * and any plain `<prefix>…` key. Returns how many keys were deleted. Standalone Redis: on a
 * Cluster, SCAN sees one node.
 * @publicApi
 */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  const safe = prefix.replace(/[*?[\]\\]/g, '\\$&');
  let deleted = 0;
  for (const match of [`{${safe}:*`, `${safe}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
