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
 * Deletes every key under `prefix`: the module's hash-tagged keys (`{<prefix>:<queue>}:stream`,
 * …), any other `{<prefix>:…` key, and any plain `<prefix>…` key (keys a test wrote beside them).
 * Returns how many keys were deleted. On a Cluster client, every master is scanned. Plain keys go
 * by their text: prefix `sq` takes `sqlite-cache` with it (the testing module's close deletes only
 * the queue keys).
 * @publicApi
 */
export async function cleanupPrefix(redis: Redis | Cluster, prefix: string): Promise<number> {
  const safe = globSafe(prefix);
  return (await deleteMatching(redis, `{${safe}:*`)) + (await deleteMatching(redis, `${safe}*`));
}

/**
 * @internal Deletes the keys the module writes under `prefix` and nothing else: every one starts
 * with its queue partition's hash tag, `{<prefix>:<queue>}:` or `{<prefix>:<queue>#<p>}:` (see
 * lib/redis/keys.ts), and a prefix holds no ':' (PREFIX_PATTERN), so another prefix's tag never
 * matches. Returns how many keys were deleted.
 */
export function deleteQueueKeys(redis: Redis | Cluster, prefix: string): Promise<number> {
  return deleteMatching(redis, `{${globSafe(prefix)}:*}:*`);
}

/** `text` with the glob's special characters escaped, for SCAN's MATCH. */
function globSafe(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
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
