import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { createRedis, useSpecRedis } from '../utils/helpers';
import { monitorNodeOf } from '../utils/redis';

/**
 * queue-state.lua finds the workers' group in XINFO GROUPS, which lists every consumer group of
 * the stream, and anyone who can write to Redis can create groups (XGROUP CREATE, one command
 * each): with 200,000 groups each counts() (every metrics scrape, every dashboard sample) was a
 * script of about a second that blocked Redis. A stream of more than GROUP_READ_LIMIT groups is
 * now refused before XINFO GROUPS (TOO_MANY_GROUPS, naming the queue and the count): the metrics
 * leave that queue out with a warning, and every read stays bounded. A review finding; the spec
 * failed.
 */
describe('attack: counts() of a queue whose stream has hundreds of consumer groups', () => {
  const { prefix, redis } = useSpecRedis();
  const keys = new QueueKeys(prefix, 'default');
  const reads = () => {
    const connection = createRedis();
    defineScripts(connection);
    return new FleetReads(connection, () => [keys], 60_000);
  };

  async function groups(n: number): Promise<void> {
    await redis.del(keys.stream);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    const pipeline = redis.pipeline();
    for (let i = 1; i < n; i++) pipeline.xgroup('CREATE', keys.stream, `foreign-${i}`, '$');
    await pipeline.exec();
  }

  it('counts() and inspect() are refused, naming the queue and the count, without listing the groups', async () => {
    await groups(2 * GROUP_READ_LIMIT);
    const monitor = await monitorNodeOf(keys.stream);
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(keys.stream)) seen.push(`${args[0]} ${args[1] ?? ''}`.toLowerCase());
    });
    const outcomes = await Promise.all(
      [reads().counts(), reads().state()].map((read) =>
        read.then(
          () => 'read',
          (error: Error) => error,
        ),
      ),
    );
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(outcomes).toEqual([
      expect.objectContaining({ code: 'TOO_MANY_GROUPS', message: expect.stringContaining(`"default" has 200`) }),
      expect.objectContaining({ code: 'TOO_MANY_GROUPS', message: expect.stringContaining(`"default" has 200`) }),
    ]);
    expect(seen.filter((c) => c.startsWith('xinfo groups'))).toEqual([]);
  });

  // The queued listing found the group's read position in XINFO GROUPS too, and the dashboard
  // polls it every second once its overview shows such a queue: refused the same way.
  it("list('queued') is refused the same way, without listing the groups", async () => {
    await groups(2 * GROUP_READ_LIMIT);
    const monitor = await monitorNodeOf(keys.stream);
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(keys.stream)) seen.push(`${args[0]} ${args[1] ?? ''}`.toLowerCase());
    });
    const outcome = await reads()
      .list('queued')
      .then(
        () => 'read',
        (error: Error) => error,
      );
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(outcome).toMatchObject({ code: 'TOO_MANY_GROUPS' });
    expect(seen.filter((c) => c.startsWith('xinfo groups'))).toEqual([]);
  });

  it('control: a stream of GROUP_READ_LIMIT groups is read', async () => {
    await groups(GROUP_READ_LIMIT);
    await redis.xadd(keys.stream, '*', 'n', 'a');
    await expect(reads().counts()).resolves.toMatchObject({ waiting: 1, running: 0 });
    await expect(reads().list('queued')).resolves.toMatchObject({ tasks: [expect.objectContaining({ name: 'a' })] });
  });
});
