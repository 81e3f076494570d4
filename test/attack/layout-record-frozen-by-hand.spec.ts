import { PartitionLayoutError } from '../../lib';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * A count change freezes each partition only while it holds no task (layout.lua), and a frozen
 * record it finds is taken as another process's freeze of this switch: it passed without a look.
 * Anyone can SET the record: `3>2` written by hand on a partition that holds a keyed task let a
 * process with 2 partitions commit the change over it, and the key's next enqueue went to the
 * key's new partition while its run was still in the old one (two live runs of one key).
 */
describe('attack: a frozen layout record written by hand over a partition that holds tasks', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  /** A key in partition `p` of 3 that maps elsewhere under 2. */
  function keyMovedFrom(p: number): string {
    for (let i = 0; ; i++) {
      const key = `k${i}`;
      if (apps.partitions(3).forKey(key).partition === p && apps.partitions(2).forKey(key).partition !== p) return key;
    }
  }

  it('is refused as a partition that still holds tasks; nothing is committed', async () => {
    const old = await apps.start(partitioned(3, { worker: false }));
    const key = keyMovedFrom(1);
    await old.client.enqueue('echo', 'x', { key, delayMs: 3_600_000 });
    await old.close();
    const [p0, p1, p2] = apps.partitions(3).all;
    await redis.set(p1.layout, '3>2');

    const refused = await apps.bootError(partitioned(2));
    expect(refused).toBeInstanceOf(PartitionLayoutError);
    expect((refused as Error).message).toMatch(/partition 1 still holds tasks/);
    expect(await Promise.all([p0, p1, p2].map((k) => redis.get(k.layout)))).toEqual(['3', '3>2', '3']);
    expect(await redis.zcard(p1.delayed)).toBe(1);
  });

  it('control: over an empty partition the change is made', async () => {
    await apps.start(partitioned(3, { worker: false }));
    const [p0, p1, p2] = apps.partitions(3).all;
    await redis.set(p1.layout, '3>2');
    await apps.start(partitioned(2, { worker: false }));
    expect(await Promise.all([p0, p1, p2].map((k) => redis.get(k.layout)))).toEqual(['2', '2', '2']);
  });
});
