import { PartitionLayouts } from '../../lib/partitions/partition-layout';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { createRedis, useSpecRedis } from '../utils/helpers';
import { monitorNodeOf } from '../utils/redis';

/**
 * Changing a queue's partition count freezes each partition only if it holds no task, and
 * layout.lua found the workers' group (its pending count and read position) in XINFO GROUPS,
 * which lists every consumer group of the stream: anyone who can write to Redis can create
 * groups (XGROUP CREATE), and with 200,000 of them each freeze was a script of more than a
 * second blocking Redis, at every boot that changes the count. The freeze now counts the groups
 * first: past GROUP_READ_LIMIT it does not read the stream and refuses (TOO_MANY_GROUPS naming
 * the queue and the partition); the partitions frozen before it are thawed back, and the count
 * stays. A review finding; the spec failed.
 */
describe('attack: a partition-count change on a stream with hundreds of consumer groups', () => {
  const { prefix, redis } = useSpecRedis();
  const partition = (p: number) => new QueueKeys(prefix, 'default', p);
  const layouts = () => {
    const connection = createRedis();
    defineScripts(connection);
    return new PartitionLayouts({ prefix } as never, { commands: connection } as never, {} as never);
  };

  async function groups(stream: string, n: number): Promise<void> {
    await redis.del(stream);
    const pipeline = redis.pipeline();
    for (let i = 0; i < n; i++) pipeline.xgroup('CREATE', stream, `foreign-${i}`, '$', 'MKSTREAM');
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
  }

  it('is refused without listing the groups, naming the queue and the partition; none stays frozen', async () => {
    await groups(partition(1).stream, GROUP_READ_LIMIT + 50);
    const monitor = await monitorNodeOf(partition(1).stream);
    let listings = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0].toLowerCase() === 'xinfo' && args[1]?.toLowerCase() === 'groups' && args[2]?.includes(prefix))
        listings++;
    });
    const outcome = await layouts()
      .adopt('default', 2)
      .then(
        () => 'changed',
        (error: Error) => error,
      );
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(outcome).toMatchObject({
      code: 'TOO_MANY_GROUPS',
      message: expect.stringMatching(/"default" cannot change from 1 to 2 .*partition 1's stream has 150/),
    });
    expect(listings).toBe(0);
    expect(await redis.mget(partition(0).layout, partition(1).layout)).toEqual(['1', null]); // thawed back to 1 (written), never frozen
  });

  it('control: within the bound, an empty queue changes its count', async () => {
    await groups(partition(1).stream, GROUP_READ_LIMIT);
    await layouts().adopt('default', 2);
    expect(await redis.mget(partition(0).layout, partition(1).layout)).toEqual(['2', '2']);
    await layouts().adopt('default', 1);
  });
});
