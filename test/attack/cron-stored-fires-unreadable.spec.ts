import { redisNowMs, settledTickSuccessor } from '../fixtures/periodic-successor';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A cron key's state keeps its upcoming fire times (field `fires`, comma-separated), and a settle
 * picks its successor from them when the settling worker runs another cron than the stored one
 * (a rolling deploy) or sent none. Anyone can write the field: with `fires` = `x`, the settle
 * script compared nil with a number and failed (the run never settled, so it ran again and again
 * as it was reclaimed); with `inf` (or `1e400`), Lua read infinity and the successor was put in the
 * delayed set at score inf, never due: the chain was lost. A fire time that does not read as a
 * finite number is now skipped, as a used one is. A review finding; the spec failed.
 */
describe('attack: hostile fire times in a cron key state', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  const redisNow = () => redisNowMs(redis);

  it.each(['x', 'inf', '1e400', 'nan,x,-inf'])(
    'stored fires %p: the successor follows the next slot',
    async (fires) => {
      const now = await redisNow();
      const slot = now - (now % 2_000);
      // The stored cron is not this worker's: its stored fire times are read.
      const stored = ['sk', 'cron', 'cron', '0 0 1 1 *', 'tz', 'UTC', 'fires', fires];
      const next = await settledTickSuccessor(
        redis,
        prefix,
        { cron: '*/2 * * * * *', timezone: undefined },
        slot,
        stored,
      );
      expect(next % 2_000).toBe(0);
      expect(next).toBeGreaterThan(slot);
      expect(next).toBeLessThanOrEqual((await redisNow()) + 2_000);
    },
  );
});
