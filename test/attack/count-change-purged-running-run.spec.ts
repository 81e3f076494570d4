import { Injectable, Module } from '@nestjs/common';
import { PartitionLayoutError, Task } from '../../lib';
import { partitionOfKey, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

const release = new Latch();
const running = { now: 0, most: 0, started: 0 };

@Injectable()
class SlowTasks {
  @Task('pr.slow')
  async slow(): Promise<string> {
    running.started++;
    running.most = Math.max(running.most, ++running.now);
    await release.wait();
    running.now--;
    return 'done';
  }
}

@Module({ providers: [SlowTasks] })
class SlowTasksModule {}

/** A key that 2 partitions map to partition 1 and 3 map elsewhere. */
const KEY = Array.from({ length: 50 }, (_, i) => `k${i}`).find(
  (key) => partitionOfKey(key, 2) === 1 && partitionOfKey(key, 3) !== 1,
)!;

/**
 * Attack: a keyed run going on a live worker whose stream an operator purged (a DEL: its group's
 * pending list went with it), then a deploy changing the count. In its own partition the key's
 * state keeps it exclusive (an enqueue makes no run beside it), but the count change's freeze
 * reads streams, not key states: the partition read as empty, the count changed, and the key's
 * next enqueue went to its new partition, where no state held it: a second run of the key at once.
 */
describe('a count change beside a keyed run whose stream was purged', () => {
  const env = useProbeApps();

  it('never runs the key twice at once', async () => {
    expect(KEY).toBeDefined();
    const options = (partitions: number) => ({ queues: { default: { partitions } }, sweepIntervalMs: 60_000 });
    const old = await startApp({ prefix: env.prefix, imports: [SlowTasksModule], options: options(2) });
    await old.client.enqueue('pr.slow', {}, { key: KEY });
    await waitFor(() => running.now === 1, { description: 'the run started' });
    await env.redis.del(new QueuePartitions(env.prefix, 'default', 2).all[1].stream);

    const deployed = await startApp({ prefix: env.prefix, imports: [SlowTasksModule], options: options(3) }).catch(
      (error: unknown) => error,
    );
    const records = () =>
      Promise.all(new QueuePartitions(env.prefix, 'default', 3).all.map((k) => env.redis.get(k.layout)));
    try {
      // Before: the change was made, and the key's next enqueue (partition 2 or 0) ran at once.
      expect(deployed).toBeInstanceOf(PartitionLayoutError);
      expect((deployed as Error).message).toMatch(
        /partition 1 still holds a running run whose stream entry was purged/,
      );
      expect(await records()).toEqual(['2', '2', '2']); // thawed back: the old workers keep going
    } finally {
      release.open();
    }
    // Once the run settled (its worker's complete still counts: the key state names it), the change is made.
    await waitFor(async () => (await old.client.status(KEY))?.state === 'completed', {
      description: 'the run settled',
    });
    const { client } = await startApp({ prefix: env.prefix, imports: [SlowTasksModule], options: options(3) });
    expect(await records()).toEqual(['3', '3', '3']);
    const again = await client.enqueue('pr.slow', {}, { key: KEY });
    expect(await again.result({ timeoutMs: 10_000 })).toBe('done');
    expect([running.started, running.most]).toEqual([2, 1]);
  });
});
