import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { useAclRedis } from '../fixtures/acl-redis';
import { startApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { healthDown, healthUpAgain } from '../fixtures/health-check';

/*
 * The check watched a queue's reads alone: a worker whose every settle failed (an ACL that lets
 * it read but refuses a command the settle scripts call, such as XACK) ran each task it read,
 * settled none, and once its finished runs filled its slots read nothing more, its lease keeping
 * every other worker off those runs for good, while the check said up (a review finding; it failed).
 */
describe('health: a worker whose settles fail on end', () => {
  const redis = useAclRedis('settle-acl-secret');
  const prefix = randomPrefix();

  it('is down once every settle has failed for 5 s, up again once they succeed', async () => {
    // Everything but XACK, which only the settle scripts call.
    const workerUrl = await redis.userDenied('worker', 'xack');
    const t = await startApp({
      prefix,
      options: { connection: { url: workerUrl }, concurrency: 2 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    const handles = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => t.client.enqueue('echo', n)));
    // The worker ran what its slots allowed and settled none: the runs stay pending, in the stream.
    await waitFor(async () => t.probe.runsOf('echo').length >= 2, { description: 'runs' });
    const down = await healthDown(indicator);
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^settles of queue "default" failing for \d+ ms: .*can't run this command/);
    expect((await t.client.counts()).running).toBeGreaterThan(0);

    await redis.allow('worker', 'xack');
    await healthUpAgain(indicator);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 45_000);
});
