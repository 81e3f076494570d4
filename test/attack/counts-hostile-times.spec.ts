import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * counts() and inspect() (the dashboard's and the CLI's queue rows, the metrics' gauges) compute
 * nextDueInMs from the delayed set's first score and oldestWaitingMs from the room's entry times,
 * which anyone with Redis access can write: `ZADD <delayed> inf x` (or 1e300, or a room entry
 * time of -inf) made queue-state.lua return infinity, which Redis turns into the integer
 * -9223372036854775808: a next due time 292 million years in the past, an oldest task of minus
 * that age. Each is now at most 2^53-1 ms, never negative. A review finding; the spec failed.
 */
describe('attack: hostile times in the counts', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);
  afterEach(() => redis.del(t.keys.delayed, t.keys.flow.entered, t.keys.flow.tasks));

  it.each(['inf', '1e300', '1e19'])('a delayed task due at %s: nextDueInMs is 2^53-1', async (score) => {
    await redis.zadd(t.keys.delayed, score, 'hand-written');
    const counts = await t.client.counts();
    expect([counts.delayed, counts.nextDueInMs]).toEqual([1, Number.MAX_SAFE_INTEGER]);
    expect((await t.client.inspect()).nextDueInMs).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a delayed task due at -inf: due now', async () => {
    await redis.zadd(t.keys.delayed, '-inf', 'hand-written');
    expect((await t.client.counts()).nextDueInMs).toBe(0);
  });

  it.each(['-inf', '-1e300'])('a room entry time of %s: oldestWaitingMs is 2^53-1', async (score) => {
    await redis.zadd(t.keys.flow.entered, score, 'task-1');
    await redis.hset(t.keys.flow.tasks, 'task-1', '\0waiting');
    expect((await t.client.counts()).oldestWaitingMs).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a delayed task due in a minute reads as such (control)', async () => {
    await t.client.enqueue('echo', 1, { delayMs: 60_000 });
    const { nextDueInMs } = await t.client.counts();
    expect(nextDueInMs).toBeGreaterThan(58_000);
    expect(nextDueInMs).toBeLessThanOrEqual(60_000);
  });
});
