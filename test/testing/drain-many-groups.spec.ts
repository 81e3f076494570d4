import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { queueBacklog } from '../../lib/testing/queue-backlog';
import { useSpecRedis } from '../utils/helpers';
import { monitorNodeOf } from '../utils/redis';

/**
 * drain() reads each queue's backlog (queueBacklog), and found the workers' group (running
 * tasks, read position) in XINFO GROUPS, which lists every consumer group of the stream; anyone
 * who can write to Redis can create groups. It now reads the group within the bound of groups
 * (read-position.lua) and past it throws TOO_MANY_GROUPS, as the fleet reads do. A review
 * finding; the spec failed.
 */
describe('attack: drain() of a queue whose stream has hundreds of consumer groups', () => {
  const { prefix, redis } = useSpecRedis();
  defineScripts(redis);

  async function queue(name: string, groups: number): Promise<QueueKeys> {
    const keys = new QueueKeys(prefix, name);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    for (const n of ['a', 'b', 'c']) await redis.xadd(keys.stream, '*', 'n', n);
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'w', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    const pipeline = redis.pipeline();
    for (let i = 1; i < groups; i++) pipeline.xgroup('CREATE', keys.stream, `foreign-${i}`, '$');
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
    return keys;
  }

  it('throws TOO_MANY_GROUPS without listing the groups', async () => {
    const keys = await queue('many', GROUP_READ_LIMIT + 50);
    const monitor = await monitorNodeOf(keys.stream);
    let listings = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0].toLowerCase() === 'xinfo' && args[1]?.toLowerCase() === 'groups' && args[2] === keys.stream)
        listings++;
    });
    const outcome = await queueBacklog(redis, keys, Date.now()).catch((error: Error) => error);
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(outcome).toMatchObject({ code: 'TOO_MANY_GROUPS', message: expect.stringContaining('"many" has 150') });
    expect(listings).toBe(0);
  });

  it('control: within the bound, the backlog is read', async () => {
    const keys = await queue('few', GROUP_READ_LIMIT);
    await expect(queueBacklog(redis, keys, Date.now())).resolves.toEqual({ waiting: 2, running: 1, due: 0 });
  });
});
