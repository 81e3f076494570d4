import { parseArgs } from '../../lib/cli/cli-args';
import { EXIT, runCommand } from '../../lib/cli/cli-commands';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { runCliInProcess } from '../utils/cli-in-process';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * README: "Tables by default, `--json` for scripts." `dlq redrive <id>` and `dlq purge <id>`
 * printed their text lines whatever --json said (a review finding; both cases failed). They now
 * print one JSON array of every id's outcome, failures included.
 */
describe('CLI --json for dlq redrive and purge by id', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'default');
  const cli = (...argv: string[]) =>
    runCliInProcess(redis, [...argv, '--url', redisUrl(), '--prefix', prefix, '--yes', '--json'], true);
  const deadLetter = async (id: string) =>
    (await redis.xadd(keys.deadLetter, '*', 'id', id, 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'r'))!;

  beforeAll(() => cleanupPrefix(redis, prefix));
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('dlq redrive <id>... --json prints each outcome as JSON', async () => {
    const dead = await deadLetter('t-1');
    const result = await cli('dlq', 'redrive', dead, '1-1');
    expect({ code: result.code, out: JSON.parse(result.out) }).toEqual({
      code: EXIT.failed,
      out: [
        { deadLetterId: dead, redriven: true, entryId: expect.stringMatching(/^\d+-\d+$/) },
        { deadLetterId: '1-1', error: 'TASK_NOT_FOUND', message: expect.any(String) },
      ],
    });
  });

  it('a Redis error on one id: the JSON still gives the ids done before it, its error and the ids not tried', async () => {
    // Found by review: the array was printed only at the end, so an error Redis answered for one
    // id (out of memory, here a sequence of another type, which a keyed redrive draws from) left
    // stdout empty, and a script could not tell that the ids before it had been redriven.
    const done = await deadLetter('t-done');
    const keyed = ['id', 't-keyed', 'n', 'echo', 'p', '"x"', 'a', '1', 'k', 'k-1', 'g', '1', 'reason', 'r'];
    const failing = (await redis.xadd(keys.deadLetter, '*', ...keyed))!;
    await redis.hset(keys.seq, 'not', 'a counter');
    let out = '';
    const io = { out: (text: string) => (out += text), err: () => undefined, confirm: async () => true };
    const argv = ['dlq', 'redrive', done, failing, '2-2', '--url', redisUrl(), '--prefix', prefix, '--yes', '--json'];
    await expect(runCommand(redis, parseArgs(argv, {}), io)).rejects.toThrow('WRONGTYPE');
    await redis.del(keys.seq);
    expect(JSON.parse(out)).toEqual([
      { deadLetterId: done, redriven: true, entryId: expect.stringMatching(/^\d+-\d+$/) },
      { deadLetterId: failing, error: 'REDIS_ERROR', message: expect.stringContaining('WRONGTYPE') },
      { deadLetterId: '2-2', error: 'NOT_TRIED', message: expect.any(String) },
    ]);
  });

  it('dlq purge <id> --json prints JSON', async () => {
    const dead = await deadLetter('t-2');
    const result = await cli('dlq', 'purge', dead);
    expect({ code: result.code, out: JSON.parse(result.out) }).toEqual({
      code: EXIT.ok,
      out: [{ deadLetterId: dead, purged: true }],
    });
  });
});
