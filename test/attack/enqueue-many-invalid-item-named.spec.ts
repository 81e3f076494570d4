import { InvalidOptionError, PayloadError, type EnqueueItem } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, keysMatching, randomPrefix } from '../utils/redis';

/**
 * enqueueMany() refuses a whole batch for one invalid item, and its error named the option alone:
 * item 500 of 1,000 with `delayMs: -1` threw `Invalid option "delayMs"`, which item 999 or item 0
 * would have thrown alike, and a payload over maxPayloadBytes named only its task, the same for
 * every item. The caller could not tell which item to fix (where `items[3].options.durability`
 * was already named so). The error now names the item; still nothing is written. (A review
 * finding; every case below failed.)
 */
describe('attack: enqueueMany() names the invalid item', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  const batch = (bad: Partial<EnqueueItem>): EnqueueItem[] =>
    Array.from({ length: 1_000 }, (_, i) =>
      i === 500 ? { name: 'echo', payload: i, ...bad } : { name: 'echo', payload: i },
    );
  const refusal = (items: EnqueueItem[]): Promise<unknown> =>
    t.client.enqueueMany(items).then(
      () => undefined,
      (e: unknown) => e,
    );

  it.each<[string, Partial<EnqueueItem>, string]>([
    ['delayMs', { options: { delayMs: -1 } }, 'items[500].options.delayMs'],
    ['key', { options: { key: '' } }, 'items[500].options.key'],
    ['queue', { options: { queue: 'a b' } }, 'items[500].options.queue'],
    ['an unknown option name', { options: { delay: 5 } as never }, 'items[500].options.delay'],
    ['options', { options: 5 as never }, 'items[500].options'],
    ['name', { name: 'a b' }, 'items[500].name'],
  ])('an invalid %s names items[500], and nothing is written', async (_what, bad, option) => {
    const error = await refusal(batch(bad));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}"`);
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });

  it('a payload over maxPayloadBytes names items[500], and nothing is written', async () => {
    const error = await refusal(batch({ payload: 'x'.repeat(1_048_576) }));
    expect(error).toBeInstanceOf(PayloadError);
    expect((error as PayloadError).taskName).toBe('echo');
    expect((error as Error).message).toMatch(
      /^Payload of task "echo" \(items\[500\]\) rejected: .*exceed maxPayloadBytes/,
    );
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });
});
