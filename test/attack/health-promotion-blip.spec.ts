import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { closeApps, logger, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { QueueKeys } from '../../lib/redis/keys';

/*
 * The promotions' streak of failures (health-promotions-refused.spec) ends only when a promotion
 * succeeds, and after a failure the next one comes a sweep interval later. With a sweep interval
 * past the 5 s grace, one failed promotion (a blip: here the delayed set briefly a key of another
 * type) read as promotions failing for 5 s and more, the check down until the next promotion,
 * though Redis had answered every command since (a review finding; it failed).
 */
describe('health: one failed promotion, the next a long sweep interval away', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is not down on that one failure', async () => {
    const keys = new QueueKeys(prefix, 'default');
    // The boot's promotion fails on it (WRONGTYPE), once.
    await redis.set(keys.delayed, 'not a sorted set');
    const warned = logger.warnings().length;
    const t = await startApp({
      prefix,
      imports: [StreamQueueHealthModule, TerminusModule],
      options: { sweepIntervalMs: 9_000, leaseMs: 20_000 },
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    await waitFor(
      () =>
        logger
          .warnings()
          .slice(warned)
          .some((w) => /promote failed \(WRONGTYPE/.test(w)),
      {
        description: 'the failed promotion',
      },
    );
    await redis.del(keys.delayed);
    // Redis answers from now on; the next promotion is a sweep interval away.
    const downs: string[] = [];
    const until = Date.now() + 7_000;
    while (Date.now() < until) {
      const result = await indicator.isHealthy('queue');
      if (result.queue.status === 'down') downs.push(String(result.queue.message));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(downs).toEqual([]);
    // A delayed task is promoted and runs as ever.
    await expect(
      (await t.client.enqueue('echo', 'later', { delayMs: 50 })).result({ timeoutMs: 15_000 }),
    ).resolves.toBe('later');
  }, 45_000);
});
