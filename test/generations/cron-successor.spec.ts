import { QueueKeys } from '../../lib/redis/keys';
import { CRON_FIRES } from '../../lib/task/schedule';
import { redisNowMs, settledTickSuccessor } from '../fixtures/periodic-successor';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

const HOUR = 3_600_000;

// Issue 9 item 8: a cron successor was timed by the settling worker's clock. It now comes from
// the run's own slot, and Redis's clock picks the first fire time after it.
describe('cron successors', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(async () => {
    jest.restoreAllMocks();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  const redisNow = () => redisNowMs(redis);
  const cron = { cron: '*/2 * * * * *', timezone: undefined };

  /** Completes one run of an every-2-seconds cron whose slot is `dueAt`; returns its successor's due time. */
  const successorOf = (dueAt: number) => settledTickSuccessor(redis, prefix, cron, dueAt);

  it('a worker whose clock is an hour ahead schedules the next slot by Redis time', async () => {
    const realNow = Date.now.bind(Date);
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + HOUR);
    const now = await redisNow();
    const slot = now - (now % 2_000);
    const next = await successorOf(slot);
    const settledBy = await redisNow();
    // The next 2 s boundary of Redis's clock, not of the worker's (an hour ahead): slot + 2 s, or a
    // later boundary when a loaded machine settled the run after that one passed.
    expect(next % 2_000).toBe(0);
    expect(next).toBeGreaterThan(slot);
    expect(next).toBeLessThanOrEqual(settledBy + 2_000);
    // The fire times after it stay in the key state, for a successor scheduled without this cron:
    // every 2 s boundary after it, none missing, of the CRON_FIRES the worker sent (the boundaries
    // that passed before a late settle are dropped with the one it skipped). The worker computes
    // them after the run's slot, or after its entry's time when that is later (successor-timing.ts):
    // a loaded machine that wrote the entry past the next boundary (CI's Cluster run, once) starts
    // them there. So the last one is CRON_FIRES boundaries after a time between the slot and the
    // settle: exactly slot + CRON_FIRES x 2 s when the entry was written in the slot's window.
    const fires = (await redis.hget(new QueueKeys(prefix, 'q').keyState('periodic:tick'), 'fires'))!
      .split(',')
      .map(Number);
    expect(fires).toEqual(Array.from({ length: fires.length }, (_, i) => next + 2_000 * (i + 1)));
    expect(fires.at(-1)).toBeGreaterThanOrEqual(slot + 2_000 * CRON_FIRES);
    expect(fires.at(-1)).toBeLessThanOrEqual(settledBy - (settledBy % 2_000) + 2_000 * CRON_FIRES);
  });

  it('after the fleet was down a day, the next slot follows Redis time: no burst of missed slots', async () => {
    const now = await redisNow();
    const next = await successorOf(now - (now % 2_000) - 24 * HOUR);
    expect(next).toBeGreaterThan(now);
    expect(next).toBeLessThanOrEqual(now + 2_000 + 1_000);
    expect(next % 2_000).toBe(0);
  });
});
