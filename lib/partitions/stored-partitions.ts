import type { Redis } from 'ioredis';
import { QueueKeys } from '../redis/keys';
import { layoutOf } from './layout-record';

/**
 * @internal The partitions a fleet read of `queue` covers: those of the count partition 0's record
 * holds ('1' when absent; the larger layout during a change, 'from>to': a partition outside the
 * other one is empty or frozen, never skipped), and at least `atLeast` (the reader's own count).
 * Reads go by Redis, not by the reader's config: the CLI has none, and a process started before
 * the count grew, or one that does not list the queue in `queues` (a dashboard, a metrics app),
 * would otherwise miss the tasks of the partitions it does not map. A record the library cannot
 * have written (layoutOf), or a key of another type, names no count: `atLeast` alone.
 */
export async function storedPartitions(redis: Redis, prefix: string, queue: string, atLeast = 1): Promise<QueueKeys[]> {
  const stored = (await redis.get(new QueueKeys(prefix, queue).layout).catch(unlessWrongType)) ?? '1';
  const layout = layoutOf(stored);
  const count = Math.max(atLeast, layout ? Math.max(layout.from, layout.to) : 1);
  return Array.from({ length: count }, (_, p) => new QueueKeys(prefix, queue, p));
}

/**
 * @internal The count partition 0's record of `queue` holds when no change of it is under way
 * ('1' when absent); undefined during a change ('from>to') or for a record the library cannot
 * have written, or a key of another type.
 */
export async function settledStoredCount(redis: Redis, prefix: string, queue: string): Promise<number | undefined> {
  const layout = layoutOf((await redis.get(new QueueKeys(prefix, queue).layout).catch(unlessWrongType)) ?? '1');
  return layout && !layout.switching ? layout.to : undefined;
}

/** A layout key of another type (anyone can write one) reads as a record no version writes. */
function unlessWrongType(error: Error): string {
  if (error.message.startsWith('WRONGTYPE')) return '';
  throw error;
}
