import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { useAclRedis } from '../fixtures/acl-redis';
import { startApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';

/*
 * The check watched reads and settles, not the step between them: a worker whose every claim
 * failed (an ACL that lets it read and settle but refuses INCR, which the keyed claim calls for
 * its fencing number) read each keyed task, could not start it, gave it back for the next
 * recovery, and so on for good: nothing ran, no read or settle failed, and the check said up
 * (a review finding; it failed).
 */
describe('health: a worker whose admissions fail', () => {
  const redis = useAclRedis('claim-acl-secret');

  /** A producer with every right, and a worker (with the health check) whose user may not INCR. */
  const boot = async () => {
    const prefix = randomPrefix();
    const workerUrl = await redis.userDenied('worker', 'incr');
    const producer = await startApp({ prefix, options: { connection: { url: redis.url() }, worker: false } });
    const worker = await startApp({
      prefix,
      options: { connection: { url: workerUrl }, blockMs: 100 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    return { producer, worker, indicator: worker.app.get(StreamQueueHealthIndicator) };
  };

  it('is down once every admission has failed for 5 s, up again once one succeeds', async () => {
    const { producer, worker, indicator } = await boot();
    const handles = await Promise.all(['a', 'b', 'c'].map((key) => producer.client.enqueue('echo', key, { key })));
    const down = await waitFor(
      async () => {
        const result = await indicator.isHealthy('queue');
        return result.queue.status === 'down' ? result : undefined;
      },
      { description: 'the check down', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^admissions of queue "default" failing for \d+ ms: .*can't run this command/);
    expect(worker.probe.runs).toHaveLength(0);

    await redis.allow('worker', 'incr');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 15_000 })))).resolves.toEqual(['a', 'b', 'c']);
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',
      timeoutMs: 10_000,
    });
  }, 60_000);

  it('is up again once the runs it could not start are gone, though none was admitted since', async () => {
    const { producer, worker, indicator } = await boot();
    await producer.client.enqueue('echo', 'x', { key: 'gone' });
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'down', {
      description: 'the check down',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    // An operator cancels the key: its entry leaves the stream, so nothing is left to admit.
    await expect(producer.client.cancel('gone')).resolves.toBe(true);
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    expect(worker.probe.runs).toHaveLength(0);
  }, 60_000);
});
