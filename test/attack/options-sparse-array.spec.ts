/* eslint-disable no-sparse-arrays -- the holes are what is under test */
import { snapshotOptions } from '../../lib/options-snapshot';
import { cleanUpAfterSuite, startApp, type TestApp } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, randomPrefix } from '../utils/redis';

const entry = ['id', 't1', 'n', 'echo', 'p', '1', 'a', '1'];

/**
 * Every call's options are copied before they are checked (snapshotOptions), and an array was
 * copied property by property, never its length: trailing holes were dropped. `ids: [id, , ]`
 * (two ids, the second a hole) reached the check as `[id]`, one id, and purged that dead letter,
 * where a hole anywhere else is refused as an id (as enqueueMany() refuses a hole among its
 * items). The copy now keeps the length, and the id checks visit every index: a hole, trailing
 * or not, is refused naming it, and nothing is purged. A review finding; the first case failed.
 */
describe('attack: an array option with holes', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ prefix, options: { worker: false } });
  });

  it('is copied with its length, holes kept', () => {
    const { ids } = snapshotOptions({ ids: [1, , 3, ,] }, '');
    expect({ length: ids.length, indexes: Object.keys(ids) }).toEqual({ length: 4, indexes: ['0', '2'] });
  });

  it('refuses a trailing hole in purgeDeadLetters ids, naming it, and purges nothing', async () => {
    await redis.xadd(t.keys.deadLetter, '1-1', ...entry);
    const refused = await optionRefusal(t.client.purgeDeadLetters({ ids: ['1-1', ,] as string[] }));
    expect(refused.option).toBe('ids[1]');
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });

  it('refuses a hole in the middle of ids and of upTo the same way', async () => {
    const ids = await optionRefusal(t.client.purgeDeadLetters({ ids: ['1-1', , '1-1'] as string[] }));
    const upTo = await optionRefusal(t.client.purgeDeadLetters({ upTo: [,] as never }));
    expect([ids.option, upTo.option]).toEqual(['ids[1]', 'upTo[0]']);
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
  });

  it('control: the same ids without holes purge', async () => {
    await redis.xadd(t.keys.deadLetter, '1-2', ...entry);
    await expect(t.client.purgeDeadLetters({ ids: ['1-1', '1-2'] })).resolves.toBe(2);
  });
});
