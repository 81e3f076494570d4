import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Fleet reads go by the count Redis records, not only by the reading process's own: a process
 * started before the queue was changed to more partitions (or one that does not list the queue
 * in `queues`, such as a dashboard or metrics app) must still see, find and remove the tasks of
 * every partition.
 */
describe('fleet reads from a process whose partition count is smaller than the stored one', () => {
  const apps = usePartitionApps();

  it('count, list, find and remove the tasks of every stored partition', async () => {
    const stale = await apps.start(partitioned(2, { worker: false }));
    const unlisted = await apps.start({ worker: false }); // queue 'default' not in its `queues`: 1
    const fresh = await apps.start(partitioned(4, { worker: false })); // the queue is empty: 2 -> 4
    const handles = await fresh.client.enqueueMany(Array.from({ length: 8 }, (_, i) => ({ name: 'echo', payload: i })));
    const inThree = handles.find((h) => h.toJSON().partition === 3)!;
    expect(inThree).toBeDefined();

    for (const reader of [stale, unlisted]) {
      expect((await reader.client.counts()).waiting).toBe(8);
      expect((await reader.client.list('queued', { limit: 50 })).tasks).toHaveLength(8);
      expect((await reader.client.findTask(inThree.id)).task).toMatchObject({ id: inThree.id, partition: 3 });
    }
    await stale.client.remove(inThree.id);
    expect((await fresh.client.counts()).waiting).toBe(7);
  });

  it('go by their own count when the record is no count, or a key of another type', async () => {
    const reader = await apps.start(partitioned(2, { worker: false }));
    await reader.client.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ name: 'echo', payload: i })));
    const [zero] = apps.partitions(2).all;
    await apps.redis.set(zero.layout, 'x');
    expect((await reader.client.counts()).waiting).toBe(4);
    await apps.redis.del(zero.layout);
    await apps.redis.hset(zero.layout, 'count', '2');
    expect((await reader.client.counts()).waiting).toBe(4);
    await apps.redis.del(zero.layout);
  });

  it('schedules() lists the runtime schedules of every stored partition', async () => {
    const stale = await apps.start(partitioned(2, { worker: false }));
    const fresh = await apps.start(partitioned(4, { worker: false })); // the queue is empty: 2 -> 4
    const keys = Array.from({ length: 8 }, (_, i) => `s${i}`);
    for (const key of keys) await fresh.client.schedule('echo', key, { key, every: 3_600_000 });
    const mapped = new Set(keys.map((key) => apps.partitions(4).forKey(key).partition));
    expect([...mapped].some((p) => p >= 2)).toBe(true);
    expect((await stale.client.schedules({ limit: 50 })).items.map((s) => s.key)).toEqual(keys);
  });
});
