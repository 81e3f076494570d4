import { PartitionLayoutError } from '../../lib';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * A durable enqueue (enqueue.lua, then WAIT) of an unkeyed task checks the partition's layout as
 * the plain path does: a process still running with an old, larger count must not write into a
 * partition the stored count has no worker read.
 */
describe('a durable unkeyed enqueue from a process with a stale partition count', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it('is refused on a partition the stored count does not have, writing nothing there', async () => {
    const durability = { replicas: 1, timeoutMs: 20 };
    const stale = await apps.start(partitioned(3, { worker: false }));
    await apps.start(partitioned(2, { worker: false })); // the queue is empty: 3 -> 2 is made
    // Round robin from a random start: three enqueues reach partition 2 once.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => stale.client.enqueue('echo', i, { durability })),
    );
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
    expect(reasons.filter((r) => r instanceof PartitionLayoutError)).toHaveLength(2);
    const [, , two] = apps.partitions(3).all;
    expect(await redis.xlen(two.stream)).toBe(0);
    expect(await redis.zcard(two.delayed)).toBe(0);
  });

  it('is refused for a delayed task too', async () => {
    const durability = { replicas: 1, timeoutMs: 20 };
    const stale = await apps.start(partitioned(3, { worker: false }));
    await apps.start(partitioned(2, { worker: false }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => stale.client.enqueue('echo', i, { durability, delayMs: 60_000 })),
    );
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
    expect(reasons.filter((r) => r instanceof PartitionLayoutError)).toHaveLength(2);
    const [, , two] = apps.partitions(3).all;
    expect(await redis.zcard(two.delayed)).toBe(0);
  });
});
