import { redisNowMs, settledTickSuccessor } from '../fixtures/periodic-successor';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A periodic key's state holds its period (`every`) and its current slot (`dueAt`), from which a
 * settle times the successor, and anyone can write both. `HSET <key state> every x` or `dueAt x`
 * made successor.lua compare or add nil, and the settle script failed, so the run never settled
 * and ran again each time it was reclaimed; `every inf` or `dueAt inf` put the successor at score
 * inf, never due: the chain was lost; `every 0.001` ran the chain back to back. A period that is
 * not an integer of at least 10 ms (what parseEvery allows) now reads as none
 * stored (the settling worker's own is used), and a slot that is not one as Redis's clock. A
 * review finding; the spec failed. Later review: a finite slot no run had, `dueAt 1e300`, timed
 * an `every` successor at 1e300 (never due) and `-1e300` one at 0; a slot before the epoch or
 * more than a period past Redis's clock now reads as Redis's clock too. That spec failed too.
 */
describe('attack: a hostile period or slot in a periodic key state', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  const redisNow = () => redisNowMs(redis);

  it.each([
    ['every', 'x'],
    ['every', 'inf'],
    ['every', '1e400'],
    ['every', '0.001'],
    ['every', '-5'],
    ['every', '1e300'],
    ['every', '9007199254740993'],
    ['dueAt', 'x'],
    ['dueAt', 'inf'],
    ['dueAt', '-inf'],
    ['dueAt', '1e300'],
    ['dueAt', '-1e300'],
    ['dueAt', '-1e20'],
    ['dueAt', '-1'],
  ])('%s %p: the successor is due one period on', async (field, hostile) => {
    const before = await redisNow();
    const slot = before - (before % 2_000);
    const stored = ['sk', 'every', 'every', '2000', field, hostile];
    const next = await settledTickSuccessor(redis, prefix, { every: 2_000 }, slot, stored);
    expect(next).toBeGreaterThan(before);
    // A period read from the worker keeps the grid of the slot; a slot read from Redis's clock cannot.
    if (field === 'every') expect(next % 2_000).toBe(0);
    expect(next).toBeLessThanOrEqual((await redisNow()) + 2_000);
  });
});
