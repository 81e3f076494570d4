import type { Socket } from 'node:net';
import { raceTimeout } from '../../lib/race-timeout';
import { heldEcho } from '../fixtures/probe';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { doneChannelSubscribers, resultSubscriberOf } from '../fixtures/result-subscriber';
import { startApp, type TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';
import { RedisConnections } from '../../lib/redis/redis-connections';

/*
 * A review finding: with a retryStrategy that gives up (an ioredis pattern), the results
 * subscriber ended for good when its connection was cut and new ones were refused for a few
 * attempts, while the command connection lived on. Nothing made it again: every
 * later result() on a queue not waited on then rejected at once ("Connection is closed."), for
 * the process's life, and a wait already in progress heard no completion again.
 */
describe('result(): a results subscriber that ended for good is made again', () => {
  const env = usePrivateRedisApps({ proxy: true });

  const gaveUp = { retryStrategy: (times: number) => (times > 2 ? null : 50) };
  const client = () =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: gaveUp } },
    });
  const worker = () =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: env.server.url } } });
  /**
   * Cuts the results subscriber of `app` while new connections are refused, until its
   * retryStrategy gave up; the command connection stays. Then connections are accepted again.
   */
  const endSubscriber = async (app: TestApp) => {
    const subscriber = resultSubscriberOf(app);
    const accept = env.proxy.refuseNewConnections();
    env.proxy.cutClient((subscriber.stream as Socket).localPort!);
    await waitFor(() => subscriber.status === 'end', { description: 'the subscriber ended for good' });
    await accept();
    expect(app.app.get(RedisConnections).commands.status).toBe('ready');
  };

  it('a later result() waits on a new subscriber', async () => {
    const producer = await client();
    const consumer = await worker();
    const warm = await producer.client.enqueue('echo', 'warm-up');
    expect(await warm.result({ timeoutMs: 5_000 })).toBe('warm-up');
    await doneChannelSubscribers(env.admin, producer, 0, 'the first wait unsubscribed');
    await endSubscriber(producer);
    expect(consumer.events.counters().completed).toBe(1);

    const { go, value } = heldEcho(env.probe);
    const handle = await producer.client.enqueue('echo', 'x');
    const result = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    go.open();
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe(value);
  });

  it('a wait in progress when it ended hears the completion on the new one', async () => {
    const producer = await client();
    const consumer = await worker();
    const { go, value } = heldEcho(env.probe);
    const handle = await producer.client.enqueue('echo', 'x');
    const result = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    await doneChannelSubscribers(env.admin, producer, 1, 'result() subscribed');
    await endSubscriber(producer);
    await doneChannelSubscribers(env.admin, producer, 1, 'subscribed again');
    go.open();
    await waitFor(() => consumer.events.counters().completed === 1, { description: 'completed' });
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe(value);
  });

  it('a wait in progress when it ended, the command connection down then, hears the completion once it is back', async () => {
    // Gives up at once on the next connection it is asked about first (the subscriber), only then.
    let giveUpNext = false;
    const retryStrategy = (times: number) => {
      if (!giveUpNext || times !== 1) return 50;
      giveUpNext = false;
      return null;
    };
    const producer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: { retryStrategy } } },
    });
    const consumer = await worker();
    const { go, value } = heldEcho(env.probe);
    const handle = await producer.client.enqueue('echo', 'x');
    const result = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    await doneChannelSubscribers(env.admin, producer, 1, 'result() subscribed');
    const commands = producer.app.get(RedisConnections).commands;
    const subscriber = resultSubscriberOf(producer);
    const accept = env.proxy.refuseNewConnections();
    env.proxy.cutClient((commands.stream as Socket).localPort!);
    await waitFor(() => commands.status === 'reconnecting', { description: 'the command connection reconnecting' });
    giveUpNext = true;
    env.proxy.cutClient((subscriber.stream as Socket).localPort!);
    await waitFor(() => subscriber.status === 'end', { description: 'the subscriber ended for good' });
    await accept();
    await waitFor(() => commands.status === 'ready', { description: 'the command connection back' });
    await doneChannelSubscribers(env.admin, producer, 1, 'subscribed again');
    go.open();
    await waitFor(() => consumer.events.counters().completed === 1, { description: 'completed' });
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe(value);
  });
});
