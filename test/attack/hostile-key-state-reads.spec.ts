import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * status(key) and schedules() read a key's state hash, and anyone can write it. `HSET <key
 * state> enqueuedAt x` made status() return an Invalid Date, whose toISOString() throws where an
 * app prints it; in schedules(), one key whose stored signature is not JSON made JSON.parse throw
 * and failed the whole page, hiding every other schedule. A time no Date holds is now undefined
 * (dateOf, as the listings read times), and a schedule whose signature cannot be read is skipped
 * as one whose state is gone. A review finding; the spec failed.
 */
describe('attack: hostile key states in status(key) and schedules()', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it('status(key): a time no Date holds is undefined, the rest as stored', async () => {
    await t.client.enqueue('echo', 1, { key: 'k', delayMs: 60_000 });
    const state = t.keys.keyState('k');
    await redis.hset(state, 'enqueuedAt', 'x', 'dueAt', '1e20', 'startedAt', '-9e15');
    const status = await t.client.status('k');
    expect(status).toMatchObject({ state: 'delayed', key: 'k', generation: expect.any(Number) });
    expect([status!.enqueuedAt, status!.dueAt, status!.startedAt]).toEqual([undefined, undefined, undefined]);
  });

  it('schedules(): a hostile entry is skipped or its bad time undefined; the others are listed', async () => {
    for (const key of ['a', 'b', 'c', 'd', 'e'])
      await t.client.schedule('echo', { key }, { key: `s:${key}`, every: 60_000 });
    const state = (key: string) => t.keys.keyState(`s:${key}`);
    await redis.hset(state('a'), 'sig', '{not json');
    await redis.hset(state('b'), 'sig', 'null');
    await redis.hset(state('c'), 'sig', JSON.stringify({ name: 'echo', payload: '{bad', every: 60_000 }));
    await redis.hset(state('d'), 'dueAt', 'x');
    const page = await t.client.schedules({ limit: 10 });
    expect(page.items.map((s) => [s.key, s.name, s.payload, s.nextRunAt])).toEqual([
      ['s:d', 'echo', { key: 'd' }, undefined],
      ['s:e', 'echo', { key: 'e' }, expect.any(Date)],
    ]);
    expect(page.items[1].nextRunAt!.getTime()).toBeGreaterThan(Date.now());
  });
});
