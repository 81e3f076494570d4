import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { closeApps, startApp } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/*
 * The check watched a queue's reads alone: a worker whose every settle failed (an ACL that lets
 * it read but refuses a command the settle scripts call, such as XACK) ran each task it read,
 * settled none, and once its finished runs filled its slots read nothing more, its lease keeping
 * every other worker off those runs for good, while the check said up (a review finding; it failed).
 */
describe('health: a worker whose settles fail on end', () => {
  let server: RedisServerHandle;
  const prefix = randomPrefix();
  const password = 'settle-acl-secret';

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(() => closeApps());
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it('is down once every settle has failed for 5 s, up again once they succeed', async () => {
    const admin = createRedis({}, server.url);
    // Everything but XACK, which only the settle scripts call.
    await admin.call('ACL', 'SETUSER', 'worker', 'reset', 'on', `>${password}`, '~*', '&*', '+@all', '-xack');
    const t = await startApp({
      prefix,
      options: { connection: { url: `redis://worker:${password}@127.0.0.1:${server.port}` }, concurrency: 2 },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    const indicator = t.app.get(StreamQueueHealthIndicator);
    const handles = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => t.client.enqueue('echo', n)));
    // The worker ran what its slots allowed and settled none: the runs stay pending, in the stream.
    await waitFor(async () => t.probe.runsOf('echo').length >= 2, { description: 'runs' });
    const down = await waitFor(
      async () => {
        const result = await indicator.isHealthy('queue');
        return result.queue.status === 'down' ? result : undefined;
      },
      { description: 'the check down', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^settles of queue "default" failing for \d+ ms: .*can't run this command/);
    expect((await t.client.counts()).running).toBeGreaterThan(0);

    await admin.call('ACL', 'SETUSER', 'worker', '+xack');
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',
      timeoutMs: 10_000,
    });
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 45_000);
});
