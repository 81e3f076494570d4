import { Injectable, Module } from '@nestjs/common';
import { Task } from '../../lib';
import { partitionOfKey, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

@Injectable()
class OtherPartitionTasks {
  @Task('lop.keyed', { queue: 'parts' })
  keyed(): string {
    return 'keyed ran';
  }
}

@Module({ providers: [OtherPartitionTasks] })
class OtherPartitionTasksModule {}

/** A key the count of 2 maps to partition 1. */
const KEY = ['a', 'b', 'c', 'd', 'e', 'f'].find((key) => partitionOfKey(key, 2) === 1)!;

/**
 * Attack: the layout record of a partition other than 0 lost while partition 0's stays: on a
 * Redis Cluster, the master serving partition 1's slot restarted without persistence (no
 * replica), or a DEL of it. The record reads as 1 partition there, so every checked write of the
 * fleet (configured with 2) to partition 1 was refused for good: keyed enqueues, cancels and
 * status of the keys it maps there, with an error telling the process to restart with 1 (which
 * would not help: its boot found partition 0's record at 2 and changed nothing). Only partition
 * 0's loss was recognised (lost-layouts.ts).
 */
describe("a partitioned queue whose other partition's layout record Redis lost", () => {
  const env = useProbeApps();
  const partitions = () => new QueuePartitions(env.prefix, 'parts', 2);
  const records = () => Promise.all(partitions().all.map((k) => env.redis.get(k.layout)));
  /** What a restart without persistence of partition 1's master leaves of its keys: nothing. */
  const losePartitionOne = async () => {
    const keys = await env.redis.keys(`{${env.prefix}:parts#1}*`);
    if (keys.length > 0) await env.redis.del(...keys);
  };
  const app = (options: object = {}): Promise<TestApp> =>
    startApp({
      prefix: env.prefix,
      imports: [OtherPartitionTasksModule],
      options: { queues: { parts: { partitions: 2 } }, ...options },
    });

  it('records it again on the next keyed enqueue there, and the task runs', async () => {
    expect(KEY).toBeDefined();
    const { client } = await app({ sweepIntervalMs: 60_000 });
    expect(await records()).toEqual(['2', '2']);
    await losePartitionOne();
    expect(await records()).toEqual(['2', null]);

    const handle = await client.enqueue('lop.keyed', {}, { queue: 'parts', key: KEY });
    expect(await records()).toEqual(['2', '2']);
    expect(await handle.result({ timeoutMs: 10_000 })).toBe('keyed ran');
    expect(await client.status(KEY, { queue: 'parts' })).toMatchObject({ state: 'completed' });
  });

  it('a cancel of a key mapped there answers instead of rejecting', async () => {
    const { client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    await losePartitionOne();
    await expect(client.cancel(KEY, { queue: 'parts' })).resolves.toBe(false);
    expect(await records()).toEqual(['2', '2']);
  });

  it('an enqueueMany() item mapped there is sent once more', async () => {
    const { client } = await app({ worker: false, sweepIntervalMs: 60_000 });
    await losePartitionOne();
    const [handle] = await client.enqueueMany([
      { name: 'lop.keyed', payload: {}, options: { queue: 'parts', key: KEY } },
    ]);
    expect(handle.key).toBe(KEY);
    expect(await records()).toEqual(['2', '2']);
  });

  it('a check records it again without any call: every 30 sweep intervals', async () => {
    await app({ worker: false, sweepIntervalMs: 50 }); // a check every 1.5 s
    await losePartitionOne();
    await waitFor(async () => (await records()).join() === '2,2', {
      timeoutMs: 5_000,
      description: "partition 1's record back",
    });
  });
});
