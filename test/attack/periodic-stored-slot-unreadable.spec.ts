import type { Outcome } from '../../lib/consumer/outcome';
import { Settler } from '../../lib/consumer/settler';
import { definitionOf, settleContext } from '../fixtures/settle-context';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A periodic key's state holds its period (`every`) and its current slot (`dueAt`), from which a
 * settle times the successor, and anyone can write both. `HSET <key state> every x` or `dueAt x`
 * made successor.lua compare or add nil, and the settle script failed, so the run never settled
 * and ran again each time it was reclaimed; `every inf` or `dueAt inf` put the successor at score
 * inf, never due: the chain was lost; `every 0.001` ran the chain back to back. A period that is
 * not an integer of at least 10 ms (what parseEvery allows) now reads as none
 * stored (the settling worker's own is used), and a slot that is not one as Redis's clock. A
 * review finding; the spec failed.
 */
describe('attack: a hostile period or slot in a periodic key state', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
  };

  it.each([
    ['every', 'x'],
    ['every', 'inf'],
    ['every', '1e400'],
    ['every', '0.001'],
    ['every', '-5'],
    ['dueAt', 'x'],
    ['dueAt', 'inf'],
    ['dueAt', '-inf'],
  ])('%s %p: the successor is due one period on', async (field, hostile) => {
    const { ctx, keys, delivered } = await settleContext(redis, prefix);
    const definition = definitionOf('tick', { queue: 'q', schedule: { every: 2_000 } });
    const keyState = keys.keyState('periodic:tick');
    const before = await redisNow();
    const slot = before - (before % 2_000);
    await redis.hset(keyState, 'gen', '1', 'id', 't1', 'state', 'running', 'dueAt', String(slot));
    await redis.hset(keyState, 'sk', 'every', 'every', '2000', field, hostile);
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
    expect(next).toBeGreaterThan(before);
    // A period read from the worker keeps the grid of the slot; a slot read from Redis's clock cannot.
    if (field === 'every') expect(next % 2_000).toBe(0);
    expect(next).toBeLessThanOrEqual((await redisNow()) + 2_000);
  });
});
