import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the type of a delayed keyed task's key state: anyone who can write to Redis can make
 * it a string (`SET <key state> x`). promote.lua's HMGET on it raised WRONGTYPE, which failed the
 * whole promotion: the due tasks behind that member were not moved until the next sweep, and the
 * promotion reported an error.
 */
describe('attack: promotion of a member whose key state is not a hash', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** The key state replaced by a value of each other type anyone can write. */
  const FOREIGN: Record<string, (key: string) => Promise<unknown>> = {
    string: (key) => f.redis.set(key, 'x'),
    list: (key) => f.redis.rpush(key, 'x'),
    set: (key) => f.redis.sadd(key, 'x'),
    zset: (key) => f.redis.zadd(key, 0, 'x'),
  };

  it.each(Object.keys(FOREIGN))('(a %s) drops that member as stale and moves the rest of the batch', async (type) => {
    await f.enqueue({ key: 'a', delayMs: 1 });
    await f.enqueue({ key: 'k', delayMs: 1 });
    await f.enqueue({ key: 'b', delayMs: 1 });
    await f.enqueue({ delayMs: 1 });
    await f.redis.del(f.keys.keyState('k'));
    await FOREIGN[type](f.keys.keyState('k'));
    await new Promise((resolve) => setTimeout(resolve, 5)); // all four due by Redis's clock
    expect(await f.promote()).toEqual({ moved: 3, nextDueInMs: -1 });
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
    const keysMoved = (await f.deliver('w')).map(([, fields]) => fields.k);
    expect(keysMoved).toEqual(['a', 'b', undefined]);
    expect(await f.redis.type(f.keys.keyState('k'))).toBe(type); // nothing written to it
  });
});
