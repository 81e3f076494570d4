import { MAX_OPTION_VALUES } from '../../lib/options-snapshot';
import { cleanUpAfterSuite, startApp, type TestApp } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, randomPrefix } from '../utils/redis';

const entry = ['id', 't1', 'n', 'echo', 'p', '1', 'a', '1'];

/** `target` behind a Proxy that counts how often its keys are listed and its properties looked at. */
function counted<T extends object>(target: T): { proxy: T; looks: { listed: number; read: number } } {
  const looks = { listed: 0, read: 0 };
  const proxy = new Proxy(target, {
    ownKeys: (t) => (looks.listed++, Reflect.ownKeys(t)),
    getOwnPropertyDescriptor: (t, name) => (looks.read++, Reflect.getOwnPropertyDescriptor(t, name)),
  });
  return { proxy, looks };
}

/**
 * Every call's options are copied before they are checked (snapshotOptions), and the copy had
 * no bound: a million ids given to purgeDeadLetters() took about 1.7 s to copy (every index
 * listed, each read) before the first was refused. Options now hold at most MAX_OPTION_VALUES
 * values in all, counted before they are copied (an array by its length, an object by its
 * property names): past it, an InvalidOptionError names the outermost option, nothing listed
 * or read of it, nothing written. A review finding; the first two cases failed.
 */
describe('attack: options too large to copy', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ prefix, options: { worker: false } });
    await redis.xadd(t.keys.deadLetter, '1-1', ...entry);
  });

  it('refuses a million ids by their count, naming ids, before one is read', async () => {
    const { proxy, looks } = counted(Array.from({ length: 1_000_000 }, () => '1-1'));
    const refused = await optionRefusal(t.client.purgeDeadLetters({ ids: proxy }));
    expect({ option: refused.option, looks }).toEqual({ option: 'ids', looks: { listed: 0, read: 0 } });
    expect(refused.message).toContain(`at most ${MAX_OPTION_VALUES} values`);
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });

  it('refuses an object of too many properties once listed, before one is read', async () => {
    const many = Object.fromEntries(Array.from({ length: MAX_OPTION_VALUES + 1 }, (_, i) => [`k${i}`, 1]));
    const { proxy, looks } = counted(many);
    const refused = await optionRefusal(t.client.enqueue('echo', 1, { durability: proxy } as never));
    expect({ option: refused.option, read: looks.read }).toEqual({ option: 'durability', read: 0 });
    expect(await redis.xlen(t.keys.stream)).toBe(0);
  });

  it('control: at the bound (the ids and `ids` itself) they are copied, and checked one by one', async () => {
    const ids = Array.from({ length: MAX_OPTION_VALUES - 1 }, (_, i) => (i === 0 ? '1-1' : 'x'));
    const refused = await optionRefusal(t.client.purgeDeadLetters({ ids }));
    expect(refused.option).toBe('ids[1]');
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });
});
