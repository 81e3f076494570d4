import { InvalidOptionError } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, keysMatching, randomPrefix } from '../utils/redis';

/** The last time a Date holds: 8.64e15 ms, 275760-09-13. */
const LAST_DATE_MS = 8.64e15;

/**
 * `runAt: 9e15` (no Date holds it: `new Date(9e15)` is an Invalid Date) and `delayMs:
 * Number.MAX_SAFE_INTEGER` were accepted as "a valid Date or epoch milliseconds" and "an integer
 * >= 0": the task was written to the delayed set for a time that never comes, a keyed one held its
 * key as delayed for good, and status() could give it no due time (undefined, never an Invalid
 * Date). A due time past the last Date is now refused, naming the option; nothing is written.
 * (A review finding; the refusal cases failed.)
 */
describe('attack: a due time past any Date', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each<[string, Record<string, unknown>]>([
    ['runAt', { runAt: LAST_DATE_MS + 1 }],
    ['runAt', { runAt: Number.MAX_SAFE_INTEGER, key: 'k' }],
    ['delayMs', { delayMs: Number.MAX_SAFE_INTEGER }],
    ['delayMs', { delayMs: LAST_DATE_MS, key: 'k' }],
  ])('%s refused, nothing written (%p)', async (option, options) => {
    const error = await t.client.enqueue('echo', 'x', options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });

  it('the last Date itself, and a delay of a thousand years, are taken', async () => {
    await expect(t.client.enqueue('echo', 'x', { runAt: new Date(LAST_DATE_MS) })).resolves.toBeDefined();
    const years = 1_000 * 365 * 86_400_000;
    const keyed = await t.client.enqueue('echo', 'x', { key: 'later', delayMs: years });
    expect((await keyed.status())?.state).toBe('delayed');
  });
});
