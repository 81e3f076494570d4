import { type ScheduleOptions, type SchedulesOptions } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { optionRefusal } from '../utils/option-refusal';
import { createRedis, keysMatching, randomPrefix } from '../utils/redis';

/**
 * schedule() read the names it knows and never looked at the rest: `{ key, every, queu: 'mail' }`
 * scheduled the runs on the task's own queue, `{ key, cron, timeZone }` in UTC, without a word,
 * while enqueue(), the module and @Task() options refuse such names. Each is now refused with
 * InvalidOptionError naming it, and nothing is written (found by the enqueue review; both refusal
 * cases failed), and so is a schedules() page option.
 */
describe('attack: schedule options with a name schedule() does not take', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each<[string, Record<string, unknown>]>([
    ['queu', { key: 'r1', every: '1h', queu: 'mail' }],
    ['timeZone', { key: 'r2', cron: '0 9 * * 1', timeZone: 'Europe/Paris' }],
  ])('schedule() refuses %s, naming it, and writes nothing', async (option, options) => {
    const error = await optionRefusal(t.client.schedule('echo', 'x', options as unknown as ScheduleOptions));
    expect(error.option).toBe(option);
    expect(error.message).toContain('key, queue, every, cron, timezone');
    expect(await keysMatching(redis, `*${prefix}*`)).toEqual([]);
  });

  it('schedules() refuses a page option it does not take', async () => {
    const error = await optionRefusal(t.client.schedules({ limt: 5 } as unknown as SchedulesOptions));
    expect(error.option).toBe('limt');
  });

  it('every documented name is still taken', async () => {
    await expect(t.client.schedule('echo', 'x', { key: 'a', every: '1h', queue: 'default' })).resolves.toBeDefined();
    await expect(
      t.client.schedule('echo', 'x', { key: 'b', cron: '0 9 * * 1', timezone: 'Europe/Paris' }),
    ).resolves.toBeDefined();
    await expect(t.client.schedules({ queue: 'default', limit: 10 })).resolves.toBeDefined();
  });
});
