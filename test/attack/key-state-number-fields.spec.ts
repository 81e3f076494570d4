import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * status(key) and schedules() read a key's generation (and status its attempt) from the key's
 * state hash, and anyone can write it. `HSET <key state> gen x` made status(key).generation and
 * schedules()[].generation NaN (the dashboard printed "generation NaN"); so did 'inf', '1e400'
 * (Infinity), '-1' and '1.5', none of them a generation. A generation that is not an integer
 * from 0 to 2^53-1, and an attempt that is not one from 1, are now undefined, and the rest of the
 * read is as stored. A review finding; the spec failed.
 */
describe('attack: hostile numbers in a key state', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each(['x', 'inf', '1e400', '-1', '1.5', '18446744073709551616', ''])(
    'status(key): gen and attempt %p read as undefined, the rest as stored',
    async (hostile) => {
      const key = `k:${hostile}`;
      const handle = await t.client.enqueue('echo', 1, { key, delayMs: 60_000 });
      await redis.hset(t.keys.keyState(key), 'gen', hostile, 'attempt', hostile);
      const status = await t.client.status(key);
      expect(status).toMatchObject({ state: 'delayed', id: handle.id, key });
      expect([status!.generation, status!.attempt]).toEqual([undefined, undefined]);
      expect(status!.dueAt).toBeInstanceOf(Date);
    },
  );

  it('status(key): a stored generation and attempt read as numbers', async () => {
    const handle = await t.client.enqueue('echo', 1, { key: 'plain', delayMs: 60_000 });
    const status = await t.client.status('plain');
    expect(status).toMatchObject({ generation: handle.generation, attempt: 1 });
    expect(handle.generation).toBeGreaterThan(0);
  });

  it('schedules(): a hostile gen reads as undefined, the schedule is still listed', async () => {
    await t.client.schedule('echo', { n: 1 }, { key: 's:a', every: 60_000 });
    await t.client.schedule('echo', { n: 2 }, { key: 's:b', every: 60_000 });
    await redis.hset(t.keys.keyState('s:a'), 'gen', 'x');
    const page = await t.client.schedules({ limit: 10 });
    expect(page.items.map((s) => [s.key, s.payload])).toEqual([
      ['s:a', { n: 1 }],
      ['s:b', { n: 2 }],
    ]);
    expect(page.items[0].generation).toBeUndefined();
    expect(page.items[1].generation).toEqual(expect.any(Number));
  });
});
