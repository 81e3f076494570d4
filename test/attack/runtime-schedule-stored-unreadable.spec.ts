import { redisNowMs, settledRuntimeSuccessors } from '../fixtures/periodic-successor';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A runtime schedule (QueueClient.schedule) is timed by what its key state stores (sk, every,
 * cron, tz), which anyone with Redis access can write, and the settling worker read it as it
 * was: `HSET <key state> every 0.001` passed (Number > 0), the worker sent that period with the
 * successor and the chain ran back to back; `every 1e300` timed every successor 1e300 ms on
 * (never due), and `every x`, `every inf`, `cron ''` or `sk x` read as no schedule at all, so the
 * run settled without a successor: the chain ended for good. A stored schedule the API would
 * refuse (parseEvery, checkCron) now reads as unreadable: the worker warns and sends its
 * successor without timing, which the settle script times from the key state alone (a stored
 * period it accepts, else the kept cron fire times, else one catch-up at once and then one a
 * minute). A review finding; the spec failed.
 */
describe('attack: a hostile stored schedule of a runtime schedule', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  it.each([
    '0.001',
    '0',
    '9',
    '10.5',
    '-5',
    'x',
    '',
    'inf',
    'nan',
    '1e400',
    '1e300',
    '9007199254740993',
    '315576000001',
    '9007199254740991',
  ])('every %p: one catch-up at once, then one a minute, never back to back; said in a warning', async (hostile) => {
    const { dues, warnings } = await settledRuntimeSuccessors(redis, prefix, { every: 50 }, ['every', hostile]);
    const now = await redisNowMs(redis);
    expect(dues[0]).toBeLessThanOrEqual(now);
    expect(dues[1]).toBeGreaterThanOrEqual(now + 59_000);
    expect(dues[1]).toBeLessThanOrEqual(now + 60_000);
    expect(warnings).toEqual([expect.stringContaining('"every"'), expect.stringContaining('"every"')]);
  });

  it.each(['0.001', 'x'])('every %p, runs dead-lettered as poison: a catch-up, then one a minute', async (hostile) => {
    const schedule = { every: 50 };
    const { dues, warnings } = await settledRuntimeSuccessors(redis, prefix, schedule, ['every', hostile], 2, 'poison');
    const now = await redisNowMs(redis);
    expect(dues[0]).toBeLessThanOrEqual(now);
    expect(dues[1]).toBeGreaterThanOrEqual(now + 59_000);
    expect(warnings.filter((w) => w.startsWith('No successor timing') && w.includes('"every"'))).toHaveLength(2);
  });

  it('a stored kind that is none: the stored period still times the chain', async () => {
    const { dues, warnings } = await settledRuntimeSuccessors(redis, prefix, { every: 200 }, ['sk', 'x']);
    const now = await redisNowMs(redis);
    expect(dues[1]! - dues[0]!).toBe(200);
    expect(dues[1]).toBeGreaterThan(now);
    expect(warnings).toHaveLength(2);
  });

  it.each([
    ['cron', "''", ''],
    ['cron', 'x', 'x'],
    ['cron', '0 8', '0 8'],
    ['cron', '* * * * * * *', '* * * * * * *'],
    ['cron', 'of 1,205 characters', `${'1,'.repeat(600)}1 * * * *`],
    ['tz', 'Mars/Olympus_Mons', 'Mars/Olympus_Mons'],
    ['sk', 'x', 'x'],
  ])('%s %s: the kept fire times time the chain, said in a warning', async (field, _shown, hostile) => {
    const schedule = { cron: '0 9 * * 1', timezone: 'UTC' };
    const { dues, warnings } = await settledRuntimeSuccessors(redis, prefix, schedule, [field, hostile]);
    const now = await redisNowMs(redis);
    expect(dues[0]).toBeGreaterThan(now);
    expect(dues[1]! - dues[0]!).toBe(7 * 86_400_000);
    expect(warnings).toHaveLength(2);
  });

  it('a stored schedule the API accepts times the chain, with no warning', async () => {
    const every = await settledRuntimeSuccessors(redis, prefix, { every: 200 }, []);
    expect(every.dues[1]! - every.dues[0]!).toBe(200);
    expect(every.warnings).toEqual([]);
  });
});
