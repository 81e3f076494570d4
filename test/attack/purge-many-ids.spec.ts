import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A purge of named dead letters sent every id as one XDEL's arguments through Lua's unpack(),
 * which fails past about 8,000 values: purging 10,000 ids (the dashboard's 100 kB body holds
 * about 16,000) failed with Redis's "too many results to unpack", an untyped error (a 500 on
 * the dashboard) and nothing purged. The script deletes them in chunks, in the same atomic
 * call. A review finding; the test failed.
 */
describe('attack: a purge naming ten thousand dead letters', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it('purges those that exist and says how many', async () => {
    const existing: string[] = [];
    for (let i = 0; i < 3; i++)
      existing.push((await redis.xadd(t.keys.deadLetter, '*', 'id', `t${i}`, 'reason', 'r'))!);
    const ids = [...existing, ...Array.from({ length: 10_000 }, (_, i) => `1-${i + 1}`)];
    await expect(t.client.purgeDeadLetters({ ids })).resolves.toBe(3);
    expect(await redis.xlen(t.keys.deadLetter)).toBe(0);
  });
});
