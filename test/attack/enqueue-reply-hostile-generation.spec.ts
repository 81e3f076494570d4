import { KeyConflictError } from '../../lib';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueScript, type EnqueueReply } from '../../lib/scripts/enqueue.script';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A keyed enqueue() that finds the key's live run replies with that run's generation, read from
 * the key state with tonumber, which anyone with Redis access can write. After `HSET <key state>
 * gen x`, enqueue() of the key threw "enqueue.lua replied an unknown code: undefined" (Lua's nil
 * cut the reply short), so did an enqueue of another task under the key instead of
 * KeyConflictError, and so did a resend of an enqueue whose reply was lost; `inf`, `nan` and
 * `1e400` gave the handle generation -2^63. A live run whose stored generation is not one (an
 * integer from 0 to 2^53-1) is stale already (isStale compares it as a number): enqueue() now
 * replaces it with a run of a drawn generation, as schedule() re-times such a chain, instead of
 * handing back a run that would never settle. A review finding; the spec failed.
 */
describe('attack: enqueue() of a key whose stored generation is not one', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const t = producerAppForSuite(prefix, redis);

  const HOSTILE = ['x', 'inf', 'nan', '1e400', '-1', '1.5', '9007199254740993', ''];

  it.each(HOSTILE)('a live run with gen %p, enqueued again: a new run of a drawn generation', async (g) => {
    const key = `e:${g}`;
    const first = await t.client.enqueue('echo', 1, { key, delayMs: 60_000 });
    await redis.hset(t.keys.keyState(key), 'gen', g);
    const again = await t.client.enqueue('echo', 2, { key, delayMs: 60_000 });
    expect(again.id).not.toBe(first.id);
    expect(Number.isSafeInteger(again.generation)).toBe(true);
    expect(again.generation).toBeGreaterThan(first.generation);
    expect((await t.client.status(key))?.generation).toBe(again.generation);
    // The stale run is gone from the delayed set: one member for the key.
    expect(await redis.zcard(t.keys.delayed)).toBe(HOSTILE.indexOf(g) + 1);
  });

  it.each(HOSTILE)('a key held by another task with gen %p: KeyConflictError', async (g) => {
    const key = `c:${g}`;
    await t.client.enqueue('flaky', 1, { key, delayMs: 60_000 });
    await redis.hset(t.keys.keyState(key), 'gen', g);
    await expect(t.client.enqueue('echo', 1, { key })).rejects.toBeInstanceOf(KeyConflictError);
  });

  it.each(HOSTILE)(
    'a resent enqueue (its reply lost) of a key whose gen became %p: answered, not an error',
    async (g) => {
      const key = `r:${g}`;
      const call = enqueueScript(t.keys, {
        id: `resent-${g}`,
        name: 'echo',
        payload: '1',
        delayMs: 60_000,
        runAt: 0,
        mode: 'add',
        key,
        everyMs: 0,
        periodic: false,
        partitions: 1,
      });
      const sent = await call.run(redis);
      await redis.hset(t.keys.keyState(key), 'gen', g);
      const resent = await call.run(redis);
      expect(resent.outcome).toBe('created');
      expect(resent.id).toBe(sent.id);
      expect(Number.isSafeInteger((resent as EnqueueReply).generation)).toBe(true);
    },
  );

  it('a live run enqueued again is returned as it is (control)', async () => {
    const first = await t.client.enqueue('echo', 1, { key: 'plain', delayMs: 60_000 });
    const again = await t.client.enqueue('echo', 2, { key: 'plain', delayMs: 60_000 });
    expect([again.id, again.generation]).toEqual([first.id, first.generation]);
  });
});
