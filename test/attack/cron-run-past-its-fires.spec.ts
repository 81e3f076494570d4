import { Settler } from '../../lib/consumer/settler';
import type { Outcome } from '../../lib/consumer/outcome';
import { Delivery } from '../../lib/consumer/delivery';
import { parseEntry, type TaskMessage } from '../../lib/task/task-message';
import { redisNowMs } from '../fixtures/periodic-successor';
import { definitionOf, settleContext } from '../fixtures/settle-context';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A cron run's settling worker sends the 16 fire times after the run's slot (or after the time
 * Redis put it in the stream); Redis takes the first after its clock. A run that waited longer
 * than that in the stream (a paused queue, a backlog) or ran longer got none after Redis's clock,
 * and a catch-up run was due at once: the late run and the catch-up ran back to back, two runs
 * where an `every` chain skips the missed slots and runs once. The worker now also sends the fire
 * times after Redis's clock as it estimates it (the Redis time read when it started consuming,
 * plus its monotonic clock since): the successor is the next fire time. A review finding; the spec
 * failed.
 */
describe('attack: a cron run settled after all 16 of its fire times', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  it('a run of `*/2 * * * * *` that waited a minute in the stream: its successor is the next even second, no catch-up', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    const startedAt = await redisNowMs(redis);
    const perf = performance.now();
    // This worker started consuming now: what QueueConsumer's context holds.
    Object.assign(ctx, { redisClock: { startedAt, now: () => startedAt + (performance.now() - perf) } });
    const keyState = keys.keyState('periodic:tick');
    const slot = startedAt - 60_000 - (startedAt % 2_000);
    await redis.hset(keyState, 'gen', '1', 'id', 't1', 'state', 'running', 'dueAt', String(slot));
    // Put in the stream at its slot, a minute ago, and read only now.
    const fields = ['id', 't1', 'n', 'tick', 'p', 'null', 'k', 'periodic:tick', 'g', '1', 'd', `${slot}`];
    await redis.xadd(keys.stream, `${slot}-0`, ...fields);
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'COUNT', 1, 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [[entryId, raw]] = reply[0][1];
    const delivery = new Delivery(parseEntry(entryId, raw) as TaskMessage);
    const definition = definitionOf('tick', { queue: 'q', schedule: { cron: '*/2 * * * * *', timezone: undefined } });
    const outcome: Outcome = { kind: 'completed', delivery, definition, result: '{"ok":true}', resultTtlMs: 0 };
    await expect(new Settler(ctx).settle([outcome])).resolves.toEqual([]);
    const [, score] = await redis.zrange(keys.delayed, 0, 0, 'WITHSCORES');
    const next = Number(score);
    expect(next % 2_000).toBe(0); // on the grid: a catch-up was due at Redis's clock
    expect(next).toBeGreaterThan(startedAt);
    expect(next).toBeLessThanOrEqual((await redisNowMs(redis)) + 2_000);
    expect(await redis.hget(keyState, 'cu')).toBeNull();
  });
});
