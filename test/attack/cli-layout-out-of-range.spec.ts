import { EXIT } from '../../lib/cli/cli-commands';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { runCliInProcess } from '../utils/cli-in-process';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * The CLI has no config: it reads a queue's partition count from its layout record. A count past
 * the largest the library writes (1024), written straight to Redis, was taken as it came: for
 * '100000000' the CLI built that many partitions' keys, and ran out of memory. Such a
 * record is unreadable, as a malformed one already was: the CLI reads partition 0 (a review
 * finding; the test failed: its Jest worker ran out of memory).
 */
describe("attack: the CLI and a layout record's count past 1024", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'default');

  beforeAll(() => cleanupPrefix(redis, prefix));
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it.each(['100000000', '1>100000000', '1025'])(
    'layout %j: dlq list reads partition 0 at once',
    async (stored) => {
      await redis.set(keys.layout, stored);
      await redis.del(keys.deadLetter);
      await redis.xadd(keys.deadLetter, '*', 'id', 't', 'n', 'echo', 'p', '1', 'a', '1', 'reason', 'r');
      const began = Date.now();
      const { code, out } = await runCliInProcess(
        redis,
        ['dlq', 'list', '--json', '--url', redisUrl(), '--prefix', prefix],
        false,
      );
      expect(Date.now() - began).toBeLessThan(2_000);
      expect(code).toBe(EXIT.ok);
      expect((JSON.parse(out) as { tasks: unknown[] }).tasks).toHaveLength(1);
    },
    10_000,
  );
});
