import { KeyConflictError } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * schedule() on a key whose live run it finds replies with that run's generation, read from the
 * key state with tonumber, which anyone with Redis access can write. After `HSET <key state> gen
 * x`, calling schedule() again with the same options (what an app does at every boot) threw
 * "schedule-runtime.lua replied an unknown code: undefined" (Lua's nil cut the reply short), and
 * so did schedule() on a key held by another live run instead of KeyConflictError; `inf`, `nan`
 * and `1e400` gave the handle generation -2^63, `-1` generation -1, `1.5` generation 1. A live
 * chain whose generation is not one (an integer from 0 to 2^53-1) is now re-timed as a changed
 * one is (its runs are stale already): a fresh first run with a drawn generation; a held key
 * throws KeyConflictError. A review finding; the spec failed.
 */
describe('attack: schedule() of a key whose stored generation is not one', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  const HOSTILE = ['x', 'inf', 'nan', '1e400', '-1', '1.5', '9007199254740993', ''];

  it.each(HOSTILE)('a live schedule with gen %p, scheduled again alike: re-timed, a drawn generation', async (g) => {
    const key = `s:${g}`;
    const first = await t.client.schedule('echo', 1, { key, every: 60_000 });
    await redis.hset(t.keys.keyState(key), 'gen', g);
    const again = await t.client.schedule('echo', 1, { key, every: 60_000 });
    expect(again.created).toBe(true);
    expect(again.id).not.toBe(first.id);
    expect(again.generation).toBeGreaterThan(first.generation);
    expect(Number.isSafeInteger(again.generation)).toBe(true);
    expect((await t.client.status(key))?.generation).toBe(again.generation);
  });

  it.each(HOSTILE)('a key held by an enqueued run with gen %p: KeyConflictError', async (g) => {
    const key = `k:${g}`;
    await t.client.enqueue('echo', 1, { key, delayMs: 60_000 });
    await redis.hset(t.keys.keyState(key), 'gen', g);
    await expect(t.client.schedule('echo', 1, { key, every: 60_000 })).rejects.toBeInstanceOf(KeyConflictError);
  });

  it('a live schedule scheduled again alike is left alone (control)', async () => {
    const first = await t.client.schedule('echo', 1, { key: 'plain', every: 60_000 });
    const again = await t.client.schedule('echo', 1, { key: 'plain', every: 60_000 });
    expect([again.created, again.id, again.generation]).toEqual([false, first.id, first.generation]);
  });
});
