import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';
import { healthDown, healthUpAgain } from '../fixtures/health-check';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/*
 * A stream out of ids (anyone with Redis access can XSETID it) refuses every promotion of a due
 * task (promote.lua appends before it removes: the task stays delayed, stream-ids-exhausted.spec).
 * The refusal was only logged: delayed tasks never became due, retries and periodic successors
 * never ran, and the check said up (a review finding; it failed).
 */
describe('health: a worker whose promotions are refused', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is down once every promotion has been refused for 5 s, naming the queue and the error; up again once one succeeds', async () => {
    const t = await startApp({ prefix, imports: [StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    await redis.xsetid(t.keys.stream, LAST_ENTRY_ID);
    const handle = await t.client.enqueue('echo', 'late', { delayMs: 100 });
    const down = await healthDown(indicator);
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(
      /^promotions of queue "default" failing for \d+ ms: .*exhausted the last possible ID/,
    );
    // Not one refusal: a streak of them, at least the grace long.
    expect(Number(/failing for (\d+) ms/.exec(String(down.queue.message))![1])).toBeGreaterThanOrEqual(5_000);
    expect(t.probe.runs).toHaveLength(0);
    expect(await redis.zcard(t.keys.delayed)).toBe(1);

    // The stream takes ids again (made anew, with its group): the task is promoted and runs.
    await redis.multi().del(t.keys.stream).xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').exec();
    await expect(handle.result({ timeoutMs: 10_000 })).resolves.toBe('late');
    await healthUpAgain(indicator);
  }, 45_000);
});
