import { MAX_OPTION_VALUES } from '../../lib/options-snapshot';
import { cleanUpAfterSuite, startApp, type TestApp } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, randomPrefix } from '../utils/redis';

const entry = ['id', 't1', 'n', 'echo', 'p', '1', 'a', '1'];

/** `items` behind a Proxy whose `length` says 1, counting how often a property is looked at. */
function lyingLength<T>(items: T[]): { proxy: T[]; looks: { read: number } } {
  const looks = { read: 0 };
  const proxy = new Proxy(items, {
    get: (t, name, receiver) => (name === 'length' ? 1 : Reflect.get(t, name, receiver)),
    getOwnPropertyDescriptor: (t, name) => (looks.read++, Reflect.getOwnPropertyDescriptor(t, name)),
  });
  return { proxy, looks };
}

/*
 * Review finding: options are bounded at MAX_OPTION_VALUES values, an array counted by its
 * `length` before its indexes are listed; but the copy then copies every index listed. A Proxy's
 * `length` may say anything (it is writable, so no invariant holds it): one saying 1 over a
 * million ids was counted as one value, every index listed and read (a million looks, the time
 * the bound is there to save), and the copy cut to its first id, which was purged. The names
 * listed past the length are counted too now, before any is read.
 */
describe('attack: an array option whose length lies', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ prefix, options: { worker: false } })));
  beforeEach(async () => {
    await redis.del(t.keys.deadLetter);
    await redis.xadd(t.keys.deadLetter, '1-1', ...entry);
  });

  it('refuses a million ids said to be one, naming ids, before one is read', async () => {
    const { proxy, looks } = lyingLength(Array.from({ length: 1_000_000 }, () => '1-1'));
    const refused = await optionRefusal(t.client.purgeDeadLetters({ ids: proxy }));
    expect({ option: refused.option, read: looks.read }).toEqual({ option: 'ids', read: 0 });
    expect(refused.message).toContain(`at most ${MAX_OPTION_VALUES} values`);
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });

  it('control: an array with a named property besides its items is copied as it is', async () => {
    const ids = Object.assign(['1-1', 'x'], { note: 'kept' });
    const refused = await optionRefusal(t.client.purgeDeadLetters({ ids }));
    expect(refused.option).toBe('ids[1]');
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });
});
