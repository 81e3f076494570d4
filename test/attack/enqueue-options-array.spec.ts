import type { EnqueueOptions, ReplaceOptions, ScheduleOptions } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, keysMatching, randomPrefix } from '../utils/redis';

/**
 * An array given where enqueue(), replace(), enqueueMany() or schedule() take an options object
 * (a caller from JavaScript, or `as any`) was read as one: its prototype's `every` method was taken
 * for the `every` option, and the refusal named `every` ("only on the periodic key ..."), an option
 * the caller never gave. Each is refused as `options` (`items[i].options`), as result([]) already
 * is, and nothing is written (a review finding; the spec failed).
 */
describe('attack: an array given as the options object', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each<[string, () => Promise<unknown>, string]>([
    ['enqueue()', () => t.client.enqueue('echo', 'x', [] as unknown as EnqueueOptions), 'options'],
    [
      'replace()',
      () => t.client.replace('echo', 'x', Object.assign([], { key: 'k' }) as unknown as ReplaceOptions),
      'options',
    ],
    [
      'enqueueMany()',
      () => t.client.enqueueMany([{ name: 'echo', payload: 1, options: [] as unknown as EnqueueOptions }]),
      'items[0].options',
    ],
    ['schedule()', () => t.client.schedule('echo', 'x', [] as unknown as ScheduleOptions), 'options'],
  ])('%s refuses it as `options`, writing nothing', async (_, call, option) => {
    const error = await optionRefusal(call());
    expect(error.option).toBe(option);
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });
});
