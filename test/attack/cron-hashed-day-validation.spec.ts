import { InvalidOptionError } from '../../lib';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import { useGenerationApps } from '../generations/generation-apps';

/**
 * A hashed day of month (`H`) takes its value from the chain's key (see cron-hashed-fields.spec),
 * but the cron was checked with the cron itself as the seed. `0 0 H 2 *` (once a year, on a day
 * of February of its own) passed the check whatever the key, then drew 30 or 31 for some keys,
 * a day February never has: for the key `key10` schedule() threw cron-parser's bare Error
 * ("Invalid explicit day of month definition") where it promises InvalidOptionError naming
 * `cron`, and `@Task('t2', { cron: '0 0 H 2 *' })` was accepted, then failed every worker's boot
 * with that Error. The check now draws with the chain's key.
 */
describe('attack: a hashed day of month that the month lacks for this key', () => {
  const gen = useGenerationApps();
  const CRON = '0 0 H 2 *';

  it('schedule() refuses it with InvalidOptionError naming cron, and writes nothing', async () => {
    const app = await gen.start({ worker: false });
    const error = await app.client.schedule('keyed', null, { key: 'key10', cron: CRON }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('cron');
    expect(await gen.redis.exists(app.keys.keyState('key10'))).toBe(0);
    // Another key draws a day February has (control).
    await expect(app.client.schedule('keyed', null, { key: 'feb', cron: CRON })).resolves.toBeDefined();
  });

  it('@Task() refuses it for the task whose key draws such a day', () => {
    const resolve = (name: string) => () => resolveTaskOptions(name, { cron: CRON }, 60_000);
    expect(resolve('t2')).toThrow(InvalidOptionError);
    expect(resolve('t2')).toThrow(`@Task('t2').cron`);
    expect(resolve('t1')).not.toThrow();
  });
});
