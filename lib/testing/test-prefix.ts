import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

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
 * and any plain `<prefix>…` key. Returns how many keys were deleted. On a Cluster client, every
 * master is scanned.
 * @publicApi
 */
export async function cleanupPrefix(redis: Redis | Cluster, prefix: string): Promise<number> {
  const safe = prefix.replace(/[*?[\]\\]/g, '\\$&');
  return (await deleteMatching(redis, `{${safe}:*`)) + (await deleteMatching(redis, `${safe}*`));
}

/** @internal Deletes every key matching the glob `match`; on a cluster, SCANs each master. */
export async function deleteMatching(redis: Redis | Cluster, match: string): Promise<number> {
  let deleted = 0;
  const cluster = (redis as { isCluster?: boolean }).isCluster ? (redis as Cluster) : undefined;
  for (const node of cluster ? cluster.nodes('master') : [redis as Redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      // Keys of one scan span slots on a cluster: each is unlinked alone there.
      if (cluster) for (const key of keys) deleted += await cluster.unlink(key);
      else deleted += await (redis as Redis).unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
