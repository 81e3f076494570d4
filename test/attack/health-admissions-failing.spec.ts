import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { closeApps, startApp } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/*
 * The check watched reads and settles, not the step between them: a worker whose every claim
 * failed (an ACL that lets it read and settle but refuses INCR, which the keyed claim calls for
 * its fencing number) read each keyed task, could not start it, gave it back for the next
 * recovery, and so on for good: nothing ran, no read or settle failed, and the check said up
 * (a review finding; it failed).
 */
describe('health: a worker whose admissions fail', () => {
  let server: RedisServerHandle;
  const password = 'claim-acl-secret';

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(() => closeApps());
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it('is down once every admission has failed for 5 s, up again once one succeeds', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, server.url);
    await admin.call('ACL', 'SETUSER', 'worker', 'reset', 'on', `>${password}`, '~*', '&*', '+@all', '-incr');
    const producer = await startApp({ prefix, options: { connection: { url: server.url }, worker: false } });
    const handles = await Promise.all(['a', 'b', 'c'].map((key) => producer.client.enqueue('echo', key, { key })));
    const t = await startApp({
      prefix,
      options: { connection: { url: `redis://worker:${password}@127.0.0.1:${server.port}` }, blockMs: 100 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    const down = await waitFor(
      async () => {
        const result = await indicator.isHealthy('queue');
        return result.queue.status === 'down' ? result : undefined;
      },
      { description: 'the check down', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^admissions of queue "default" failing for \d+ ms: .*can't run this command/);
    expect(t.probe.runs).toHaveLength(0);

    await admin.call('ACL', 'SETUSER', 'worker', '+incr');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 15_000 })))).resolves.toEqual(['a', 'b', 'c']);
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',
      timeoutMs: 10_000,
    });
  }, 60_000);

  it('is up again once the runs it could not start are gone, though none was admitted since', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, server.url);
    await admin.call('ACL', 'SETUSER', 'worker', 'reset', 'on', `>${password}`, '~*', '&*', '+@all', '-incr');
    const producer = await startApp({ prefix, options: { connection: { url: server.url }, worker: false } });
    await producer.client.enqueue('echo', 'x', { key: 'gone' });
    const t = await startApp({
      prefix,
      options: { connection: { url: `redis://worker:${password}@127.0.0.1:${server.port}` }, blockMs: 100 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
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
    expect(t.probe.runs).toHaveLength(0);
  }, 60_000);
});
