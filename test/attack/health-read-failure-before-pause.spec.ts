import { TerminusModule } from '@nestjs/terminus';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import type { PauseWatch } from '../../lib/consumer/pause-watch';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { sleep } from '../utils/helpers';

/**
 * The health check is down when a queue's reads have failed on end for 5 s; a read retried
 * through a blip is not. A paused queue sends no read: its read loop waits for the resume. A
 * read that failed just before the pause (a failover, a reconnect: often why an operator
 * pauses) left its streak open, its retry held by the pause before it could say it was under
 * way, so the streak grew for the whole pause: 5 s into it the check said "reads of queue
 * failing", with Redis well and nothing read, and stayed down until the resume (an
 * orchestrator restarted the paused fleet). A review finding; the spec failed.
 */
describe('attack: the health check after a read failed just before a pause', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  beforeEach(() => cleanupPrefix(redis, prefix));
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is up while the queue is paused once Redis is well, and reads again on resume', async () => {
    const t = await startApp({ prefix, imports: [StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    const host = t.app.get(ConsumerHost);
    // The blip: the stream of another type fails the reads (WRONGTYPE).
    await redis.del(t.keys.stream);
    await redis.set(t.keys.stream, 'not a stream');
    await waitFor(() => host.status().failingReads.default !== undefined, { description: 'a read failed' });
    await t.client.pause('default');
    const { pauseWatch } = host as unknown as { pauseWatch: PauseWatch };
    await waitFor(() => pauseWatch.gate('default').isPaused, { description: 'the worker heard the pause' });
    // Redis well again: nothing a read would fail on.
    await redis.del(t.keys.stream);
    // Past the 5 s streak (and the read retry's longest backoff, 5 s), time passing alone: the
    // pause holds the read loop, so no read is sent meanwhile.
    await sleep(6_000);
    const paused = await indicator.isHealthy('queue');
    expect(paused.queue.message).toBeUndefined();
    expect(paused.queue).toMatchObject({ status: 'up', lease: 'held', consumers: { default: true } });

    await t.client.resume('default');
    expect(await (await t.client.enqueue('echo', 1)).result({ timeoutMs: 10_000 })).toBe(1);
    expect((await indicator.isHealthy('queue')).queue.status).toBe('up');
  }, 30_000);

  it('control: reads that keep failing while the queue runs are down after 5 s', async () => {
    const t = await startApp({ prefix, imports: [StreamQueueHealthModule, TerminusModule] });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    await redis.del(t.keys.stream);
    await redis.set(t.keys.stream, 'not a stream');
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'down', {
      description: 'the check down',
      timeoutMs: 10_000,
    });
    expect((await indicator.isHealthy('queue')).queue.message).toMatch(/^reads of queue "default" failing for/);
    await redis.del(t.keys.stream);
  }, 30_000);
});
