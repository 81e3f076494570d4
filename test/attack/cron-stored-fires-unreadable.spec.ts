import type { Outcome } from '../../lib/consumer/outcome';
import { Settler } from '../../lib/consumer/settler';
import { definitionOf, settleContext } from '../fixtures/settle-context';
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

  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
  };

  it.each(['x', 'inf', '1e400', 'nan,x,-inf'])(
    'stored fires %p: the successor follows the next slot',
    async (fires) => {
      const { ctx, keys, delivered } = await settleContext(redis, prefix);
      const definition = definitionOf('tick', { queue: 'q', schedule: { cron: '*/2 * * * * *', timezone: undefined } });
      const keyState = keys.keyState('periodic:tick');
      const now = await redisNow();
      const slot = now - (now % 2_000);
      // The stored cron is not this worker's: its stored fire times are read.
      await redis.hset(keyState, 'gen', '1', 'id', 't1', 'state', 'running', 'dueAt', String(slot));
      await redis.hset(keyState, 'sk', 'cron', 'cron', '0 0 1 1 *', 'tz', 'UTC', 'fires', fires);
      const delivery = await delivered([
        'id',
        't1',
        'n',
        'tick',
        'p',
        'null',
        'k',
        'periodic:tick',
        'g',
        '1',
        'd',
        `${slot}`,
      ]);
      const outcome: Outcome = { kind: 'completed', delivery, definition, result: '{"ok":true}', resultTtlMs: 0 };
      await expect(new Settler(ctx).settle([outcome])).resolves.toEqual([]);
      const [, score] = await redis.zrange(keys.delayed, 0, 0, 'WITHSCORES');
      const next = Number(score);
      expect(next % 2_000).toBe(0);
      expect(next).toBeGreaterThan(slot);
      expect(next).toBeLessThanOrEqual((await redisNow()) + 2_000);
    },
  );
});
