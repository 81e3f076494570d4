import { PartitionLayoutError } from '../../lib';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * A task under flow control goes to its group's partition under the count (enqueue-flow.lua):
 * a process still mapping with an old count must write none, on partition 0 too, where a
 * plain unkeyed task needs no check. Before, enqueue-flow.lua read no layout record.
 */
describe('a flow enqueue from a process with a stale partition count', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it('is refused with a PartitionLayoutError, writing nothing', async () => {
    const stale = await apps.start(partitioned(1, { worker: false }));
    await apps.start(partitioned(2, { worker: false })); // the queue is empty: 1 -> 2 is made
    const refused = await stale.client.enqueue('echo', 1, { group: 'tenant-a' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PartitionLayoutError);
    const delayed = await stale.client.enqueue('echo', 2, { group: 'tenant-a', delayMs: 60_000 }).catch((e) => e);
    expect(delayed).toBeInstanceOf(PartitionLayoutError);
    const [zero] = apps.partitions(2).all;
    expect(await redis.xlen(zero.stream)).toBe(0);
    expect(await redis.zcard(zero.delayed)).toBe(0);
    expect(await redis.exists(...zero.flowKeys)).toBe(0);
  });
});
