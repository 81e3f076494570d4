import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { runCliInProcess } from '../utils/cli-in-process';
import { createRedis, useSpecRedis } from '../utils/helpers';
import { redisUrl } from '../utils/redis';

/**
 * `inspect` without --queue reads every queue it finds, all at once: one queue that could not be
 * read (a stream given more than GROUP_READ_LIMIT consumer groups, which anyone who can write to
 * Redis can create) made it print nothing but that error (exit 1), so the operator saw no other
 * queue. Each queue now answers for itself: the others are printed, the unreadable one's error
 * goes to stderr (--json: `{ queue, error: { code, message } }` in its place), and the exit code
 * is still 1. A review finding; the spec failed.
 */
describe('attack: CLI inspect of every queue, one of which cannot be read', () => {
  const { prefix, redis } = useSpecRedis();

  beforeAll(async () => {
    await redis.xadd(new QueueKeys(prefix, 'alpha').stream, '*', 'n', 'a');
    const mail = new QueueKeys(prefix, 'mail');
    await redis.xgroup('CREATE', mail.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    const pipeline = redis.pipeline();
    for (let i = 0; i < GROUP_READ_LIMIT; i++) pipeline.xgroup('CREATE', mail.stream, `foreign-${i}`, '$');
    await pipeline.exec();
  });

  const cli = (...extra: string[]) => {
    const connection = createRedis();
    defineScripts(connection);
    return runCliInProcess(connection, ['inspect', '--url', redisUrl(), '--prefix', prefix, ...extra], true);
  };

  it('prints the others, and that one error on stderr (exit 1)', async () => {
    const { code, out, err } = await cli();
    expect([code, /^alpha\s+1\s/m.test(out), out.includes('mail'), err]).toEqual([
      1,
      true,
      false,
      expect.stringContaining(`Queue "mail" has ${GROUP_READ_LIMIT + 1} consumer groups`),
    ]);
  });

  it('--json: the others, and that one with its error', async () => {
    const { code, out } = await cli('--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({ queue: 'alpha', waiting: 1 }),
      { queue: 'mail', error: { code: 'TOO_MANY_GROUPS', message: expect.stringContaining('"mail"') } },
    ]);
  });
});
