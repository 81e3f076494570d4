import { periodicKey } from '../../lib';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { useProbeApps } from '../fixtures/probe-apps';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { logger, startApp } from '../fixtures/test-app';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * Review finding: a running worker put back a `@Task` chain that was gone from Redis (the
 * restore on its slow timer or after a reconnect), and the reply was lost with the connection.
 * ioredis resent the call, which found the chain it had just written and left it alone: the
 * worker never logged "Restored periodic task", though the chain had been lost and put back.
 */
describe('attack: a periodic chain restore whose reply was lost after Redis ran it', () => {
  const env = useProbeApps();
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(() => proxy.close());

  it('is logged restored, once', async () => {
    const name = 'restore-resent';
    const w = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { connection: { url: proxy.url } },
      imports: [HourlyTaskModule.register(name)],
    });
    const keyState = w.keys.keyState(periodicKey(name));
    await waitFor(async () => (await env.redis.exists(keyState)) === 1, { description: 'the chain in place' });
    const mark = logger.lines.length;

    // The chain is lost; the next restore (every 30 sweep intervals: 3 s here) puts it back, its
    // reply cut after Redis ran it, and ioredis resends it.
    await resentCall(proxy, periodicKey(name), async () => {
      await env.redis.del(keyState, w.keys.delayed, w.keys.stream);
    });
    await waitFor(async () => (await env.redis.exists(keyState)) === 1, { description: 'the chain put back' });
    await new Promise((r) => setTimeout(r, 500));

    const restored = logger.lines.slice(mark).filter((l) => l.message.includes(`Restored periodic task "${name}"`));
    expect(restored).toHaveLength(1);
  }, 20_000);
});
