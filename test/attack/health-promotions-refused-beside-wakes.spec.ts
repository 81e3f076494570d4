import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { HostileTaskModule } from '../fixtures/hostile-tasks';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * A rate-limited start has its worker promote when it leaves its window (QueueConsumer.promoteIn):
 * that promotion serves flow wakes alone, reading no delayed member. It ended the promotions'
 * streak of failures (health-promotions-refused.spec) all the same, so while rated runs started
 * (one every perMs, below the grace) the promotions of due members, refused on every try, never
 * read as failing for 5 s, and the check stayed up (a review finding; it failed).
 */
describe('health: promotions refused beside the wake promotions of rated starts', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is down once every promotion of due members has been refused for 5 s', async () => {
    const t = await startApp({
      prefix,
      options: { sweepIntervalMs: 1_000 },
      imports: [
        HostileTaskModule.register('rated', { rateLimit: { max: 1, perMs: 400 } }),
        StreamQueueHealthModule,
        TerminusModule,
      ],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    // A due member that does not decode goes to the dead letters, which hold a string: every
    // promotion of the delayed set is refused (WRONGTYPE), the member still delayed.
    await redis.set(t.keys.deadLetter, 'not a stream');
    await redis.zadd(t.keys.delayed, 0, 'not json');
    // Rated runs start one every 400 ms meanwhile, each with its wake promotion.
    for (let i = 0; i < 40; i++) await t.client.enqueue('rated', i);
    const down = await waitFor(
      async () => {
        const result = await indicator.isHealthy('queue');
        return result.queue.status === 'down' ? result : undefined;
      },
      { description: 'the check down', timeoutMs: 12_000, intervalMs: 200 },
    );
    expect(down.queue.message).toMatch(/^promotions of queue "default" failing for \d+ ms: WRONGTYPE/);
    expect(await redis.zcard(t.keys.delayed)).toBe(1);
  }, 30_000);
});
