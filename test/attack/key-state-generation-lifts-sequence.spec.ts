import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * Each new generation of a key is drawn from the queue's sequence (INCR) and kept above the
 * key's stored generation (field gen, for states written before the sequence existed), which
 * anyone with Redis access can write. `HSET <key state> gen inf` (or 1e300, 1e400, 1.5), then
 * any replace(), cancel() or schedule() of that key, SET the sequence to 'inf' (or
 * '1.0000000000000001e+300', '2.5'), which INCR refuses: every later keyed enqueue, replace,
 * schedule and periodic successor of the queue failed with "ERR value is not an integer". A
 * stored generation near 2^53 lifted the sequence to where Lua's doubles round consecutive
 * draws to one generation. A stored generation now lifts the sequence only when it is an integer
 * from 0 to 2^52-1; any other is drawn past. A review finding; the spec failed.
 */
describe('attack: a hostile stored generation and the queue sequence', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);
  // Each case starts from a sound sequence: one a case poisoned must not fail the next.
  beforeEach(() => redis.set(t.keys.seq, '100'));

  const drawn = async (key: string) => (await t.client.enqueue('echo', 1, { key, delayMs: 60_000 })).generation;

  it.each(['inf', '1e400', '1e300', '1.5', '-1', 'nan', 'x', '9007199254740993', '4503599627370496'])(
    'gen %p then replace(): the sequence stays an integer, later draws go on',
    async (hostile) => {
      const key = `k:${hostile}`;
      await drawn(key);
      await redis.hset(t.keys.keyState(key), 'gen', hostile);
      const replaced = await t.client.replace('echo', 2, { key, delayMs: 60_000 });
      expect(await redis.get(t.keys.seq)).toMatch(/^\d{1,15}$/);
      const later = [await drawn(`${key}:a`), await drawn(`${key}:b`)];
      expect(later[1]).toBe(later[0] + 1);
      expect(Number.isSafeInteger(replaced.generation) && replaced.generation < later[0]).toBe(true);
    },
  );

  it.each(['inf', '1e300'])('gen %p then schedule() re-timed: later draws go on', async (hostile) => {
    const key = `s:${hostile}`;
    await t.client.schedule('echo', 1, { key, every: 60_000 });
    await redis.hset(t.keys.keyState(key), 'gen', hostile);
    await t.client.schedule('echo', 2, { key, every: 60_000 });
    expect(await redis.get(t.keys.seq)).toMatch(/^\d{1,15}$/);
    await expect(drawn(`${key}:a`)).resolves.toEqual(expect.any(Number));
  });

  it('a stored generation above the sequence (a state from before it) still lifts it', async () => {
    const key = 'legacy';
    await drawn(key);
    await redis.hset(t.keys.keyState(key), 'gen', '1000000');
    await t.client.replace('echo', 2, { key, delayMs: 60_000 });
    expect(await drawn('after-legacy')).toBe(1_000_002);
  });
});
