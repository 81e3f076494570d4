import { type EnqueueOptions, type ReplaceOptions } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, keysMatching, randomPrefix } from '../utils/redis';

/**
 * An enqueue option name nobody reads is a typo, or an option enqueue() does not have: `{ delay:
 * 60_000 }` ran the task at once, `{ delayMS }` too, and `{ resultTtlMs: 0 }` or `{ attempts: 1 }`
 * (@Task options) were dropped without a word, while the module and @Task() options refuse such
 * names. Each is now refused with InvalidOptionError naming it, and nothing is written (a review
 * finding; every refusal case below failed).
 */
describe('attack: enqueue options with a name enqueue() does not take', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each<[string, Record<string, unknown>]>([
    ['delay', { delay: 60_000 }],
    ['delayMS', { delayMS: 60_000 }],
    ['resultTtlMs', { resultTtlMs: 0 }],
    ['attempts', { key: 'k', attempts: 1 }],
    ['priorty', { priorty: 1 }],
  ])('enqueue() refuses %s, naming it and the names it takes, and writes nothing', async (option, options) => {
    const error = await optionRefusal(t.client.enqueue('echo', 'x', options as EnqueueOptions));
    expect(error.option).toBe(option);
    expect(error.message).toContain('delayMs, runAt');
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });

  it('replace() and enqueueMany() refuse one too, writing nothing', async () => {
    const replaced = await optionRefusal(
      t.client.replace('echo', 'x', { key: 'k', runat: Date.now() } as ReplaceOptions),
    );
    expect(replaced.option).toBe('runat');
    const many = await optionRefusal(
      t.client.enqueueMany([
        { name: 'echo', payload: 1 },
        { name: 'echo', payload: 2, options: { queu: 'mail' } as EnqueueOptions },
      ]),
    );
    expect(many.option).toBe('items[1].options.queu');
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });

  it('every documented name is still taken', async () => {
    await expect(
      t.client.enqueue('echo', 'x', { key: 'all', delayMs: 1_000, queue: 'default', durability: undefined }),
    ).resolves.toMatchObject({ created: true });
    await expect(t.client.enqueue('echo', 'x', { runAt: new Date(Date.now() + 60_000) })).resolves.toBeDefined();
    await expect(t.client.enqueue('echo', 'x', { group: 'g', priority: 3 })).resolves.toBeDefined();
    // `every` is a name replace() takes: refused here for its use (echo is no `every` task), not its name.
    const every = await optionRefusal(t.client.replace('echo', 'x', { key: 'r', every: '1m' }));
    expect(every.message).toMatch(/only on the periodic key/);
  });
});
