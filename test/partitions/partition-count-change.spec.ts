import { PartitionLayoutError, TaskCancelledError, type TaskHandle } from '../../lib';
import { partitionOfKey } from '../../lib/partitions/queue-partitions';
import { waitFor } from '../utils/redis';
import { HourlyModule, partitioned, usePartitionApps } from './partition-apps';

/** Changing the partition count of a live queue: refused while tasks remain, never a wrong mapping. */
describe('changing the partition count', () => {
  const apps = usePartitionApps();
  const { redis } = apps;
  const records = (count: number) => Promise.all(apps.partitions(count).all.map((k) => redis.get(k.layout)));

  it('is refused at bootstrap while a partition holds tasks, and done once they are drained', async () => {
    const producer = await apps.start(partitioned(4, { worker: false }));
    const handles = await producer.client.enqueueMany(
      Array.from({ length: 8 }, (_, i) => ({ name: 'echo', payload: i })),
    );
    await producer.close();
    expect(await records(4)).toEqual(['4', '4', '4', '4']);

    const refused = await apps.bootError(partitioned(2));
    expect(refused).toBeInstanceOf(PartitionLayoutError);
    expect(refused).toMatchObject({ queue: 'default', stored: '4', configured: 2 });
    expect((refused as Error).message).toMatch(/queues\.default\.partitions.*partition 0 still holds tasks/s);
    expect(await records(4)).toEqual(['4', '4', '4', '4']); // thawed back: old workers keep going

    const drainer = await apps.start(partitioned(4));
    const rebuilt = handles.map((h) => drainer.client.handle(h.id, h.toJSON()));
    await expect(Promise.all(rebuilt.map((h) => h.result()))).resolves.toHaveLength(8);
    await drainer.close();

    const app = await apps.start(partitioned(2));
    expect(await records(4)).toEqual(['2', '2', '2', '2']);
    const after = await app.client.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ name: 'echo', payload: i })));
    await expect(Promise.all(after.map((h) => h.result()))).resolves.toEqual([0, 1, 2, 3]);
    expect(new Set(after.map((h) => h.toJSON().partition ?? 0))).toEqual(new Set([0, 1]));
  });

  it('gives a process still running with the old count a PartitionLayoutError, writing nothing (a cancel is retried under the stored count)', async () => {
    const stale = await apps.start(partitioned(4, { worker: false }));
    const fresh = await apps.start(partitioned(2)); // the queue is empty: the change is made
    const keyed = stale.client.enqueue('echo', 'x', { key: 'user-1' });
    await expect(keyed).rejects.toBeInstanceOf(PartitionLayoutError);
    await expect(keyed).rejects.toMatchObject({ code: 'PARTITION_LAYOUT', stored: '2', configured: 4 });
    // Unkeyed: partition 0 exists under every count and takes it; the others refuse it.
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => stale.client.enqueue('echo', i)));
    const written = outcomes.filter((o) => o.status === 'fulfilled');
    expect(written).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual(
      Array(3).fill(expect.any(PartitionLayoutError)),
    );
    const many = await stale.client
      .enqueueMany([{ name: 'echo', payload: 'k', options: { key: 'user-2' } }])
      .catch((e) => e);
    expect(many.results[0].error).toBeInstanceOf(PartitionLayoutError);
    // Reads by key too (the review found status(key) answering from the key's old partition).
    await expect(stale.client.status('user-1')).rejects.toBeInstanceOf(PartitionLayoutError);
    // A cancel under the old count answered "nothing live" beside a live run (the explorer found
    // it): refused, it is retried under the count Redis records, where the key's run is.
    const moved = keyMoving(2, 4, 1);
    const live = await fresh.client.enqueue('echo', 'later', { key: moved, delayMs: 3_600_000 });
    await expect(stale.client.cancel(moved)).resolves.toBe(true);
    await expect(live.result()).rejects.toBeInstanceOf(TaskCancelledError);
    await expect(stale.client.cancel('user-1')).resolves.toBe(false);
    for (const keys of apps.partitions(4).all) {
      expect(await redis.exists(keys.keyState('user-1'), keys.keyState('user-2'))).toBe(0);
      if (keys.partition > 0) expect(await redis.xlen(keys.stream)).toBe(0);
    }
    await expect(
      (written[0] as PromiseFulfilledResult<{ result(): Promise<unknown> }>).value.result(),
    ).resolves.toEqual(expect.any(Number));
  });

  it('is not blocked by a periodic chain: it lives in partition 0 under every count', async () => {
    const first = await apps.start({}, [HourlyModule]);
    const [zero] = apps.partitions(1).all;
    expect(await redis.zcard(zero.delayed)).toBe(1);
    await first.close();
    await apps.start(partitioned(3), [HourlyModule]);
    expect(await records(3)).toEqual(['3', '3', '3']);
    expect(await redis.zcard(zero.delayed)).toBe(1); // the same chain, not a second one
    expect(await redis.hget(zero.keyState('periodic:hourly'), 'state')).toBe('delayed');
  });

  it('finishes a change interrupted by a crash only with the target count', async () => {
    // The crash came after partition 0 was frozen for a change from 1 to 4.
    const [zero] = apps.partitions(1).all;
    await redis.set(zero.layout, '1>4');
    const refused = await apps.bootError(partitioned(2));
    expect(refused).toBeInstanceOf(PartitionLayoutError);
    expect((refused as Error).message).toMatch(/change from 1 to 4 partitions in progress.*Start a process with 4/s);
    expect(await redis.get(zero.layout)).toBe('1>4');

    const app = await apps.start(partitioned(4));
    expect(await records(4)).toEqual(['4', '4', '4', '4']);
    const handle = await app.client.enqueue('echo', 'after', { key: 'k' });
    await expect(handle.result()).resolves.toBe('after');
    await waitFor(async () => (await app.client.status('k'))?.state === 'completed');
  });

  /** A key in partition `from` under `before` partitions, and in another one under `after`. */
  const keyMoving = (before: number, after: number, from: number): string => {
    for (let i = 0; ; i++) {
      const key = `user-${i}`;
      const p = partitionOfKey(key, before);
      if (p === from && partitionOfKey(key, after) !== p) return key;
    }
  };

  /** Keyed tasks run to completion under `before` partitions, their handles serialized as JSON. */
  async function finishedUnder(before: number, keys: string[]): Promise<ReturnType<TaskHandle['toJSON']>[]> {
    const app = await apps.start(partitioned(before));
    const handles = await Promise.all(keys.map((key) => app.client.enqueue('echo', `ran ${key}`, { key })));
    await Promise.all(handles.map((h) => h.result()));
    await waitFor(async () => (await app.client.status(keys[0]))?.state === 'completed');
    await app.close();
    return handles.map((h) => JSON.parse(JSON.stringify(h)) as ReturnType<TaskHandle['toJSON']>);
  }

  // Review finding: the freeze reads streams, not key states. A queued run whose entry an
  // operator deleted (XDEL) left its key state, kept without a TTL, in the old partition, where no
  // enqueue of the key comes any more to replace it. The change now drops it (and a delayed one
  // whose member is gone), never a state whose run is still there.
  it('drops a waiting key state whose message an operator deleted: no partition keeps it after the change (2 to 3)', async () => {
    const queued = keyMoving(2, 3, 1);
    const delayed = keyMoving(2, 3, 0);
    const producer = await apps.start(partitioned(2, { worker: false }));
    await producer.client.enqueue('echo', 'purged', { key: queued });
    await producer.client.enqueue('echo', 'purged', { key: delayed, delayMs: 3_600_000 });
    await producer.close();
    const old = apps.partitions(2).all;
    const [[entryId]] = await redis.xrange(old[1].stream, '-', '+');
    await redis.xdel(old[1].stream, entryId);
    await redis.del(old[0].delayed);
    expect(await redis.hget(old[1].keyState(queued), 'state')).toBe('queued');

    const app = await apps.start(partitioned(3));
    expect(await records(3)).toEqual(['3', '3', '3']);
    for (const keys of apps.partitions(3).all) {
      expect(await redis.exists(keys.keyState(queued), keys.keyState(delayed))).toBe(0);
    }
    const handle = await app.client.enqueue('echo', 'after', { key: queued });
    await expect(handle.result()).resolves.toBe('after');
  });

  // Review finding: the clean kept every state storing a schedule, for "the chain's restore or
  // the next schedule()" to judge. A runtime schedule's key moves with the count (only @Task
  // chains stay in partition 0, restored in place): its next schedule() goes to the new
  // partition, and the old state stayed for good, 'delayed' without a TTL, listed by schedules()
  // beside the new one, out of unschedule()'s reach.
  it("drops a runtime schedule's state whose delayed run an operator deleted: listed once after the change (2 to 3)", async () => {
    const key = keyMoving(2, 3, 1);
    const producer = await apps.start(partitioned(2, { worker: false }));
    await producer.client.schedule('echo', 'tick', { key, every: 3_600_000 });
    await producer.close();
    const old = apps.partitions(2).all;
    await redis.del(old[1].delayed);

    const app = await apps.start(partitioned(3, { worker: false }));
    expect(await records(3)).toEqual(['3', '3', '3']);
    for (const keys of apps.partitions(3).all) expect(await redis.exists(keys.keyState(key))).toBe(0);
    await app.client.schedule('echo', 'tick', { key, every: 3_600_000 });
    expect((await app.client.schedules()).items.map((s) => s.key)).toEqual([key]);
    await expect(app.client.unschedule(key)).resolves.toBe(true);
    expect((await app.client.schedules()).items).toEqual([]);
  });

  it('a handle from before a count change reads the partition it was enqueued in (2 to 3)', async () => {
    const keys = [keyMoving(2, 3, 0), keyMoving(2, 3, 1)];
    const serialized = await finishedUnder(2, keys);
    expect(serialized.map((h) => h.partition)).toEqual([0, 1]);

    const app = await apps.start(partitioned(3));
    expect(await records(3)).toEqual(['3', '3', '3']);
    for (const [i, json] of serialized.entries()) {
      const rebuilt = app.client.handle(json.id, json);
      await expect(rebuilt.result({ timeoutMs: 2_000 })).resolves.toBe(`ran ${keys[i]}`);
      expect(await rebuilt.status()).toMatchObject({ id: json.id, state: 'completed' });
      // By key, the new mapping: the key has had no run since the change.
      expect(await app.client.status(keys[i])).toBeNull();
    }
  });

  it('a handle from before a count change reads its partition though the new count has none such (3 to 2)', async () => {
    const key = keyMoving(3, 2, 2);
    const [json] = await finishedUnder(3, [key]);
    expect(json.partition).toBe(2);
    const app = await apps.start(partitioned(2));
    const rebuilt = app.client.handle(json.id, json);
    await expect(rebuilt.result({ timeoutMs: 2_000 })).resolves.toBe(`ran ${key}`);
    expect(await rebuilt.status()).toMatchObject({ id: json.id, state: 'completed' });
  });
});
