import { ApplicationClosedError } from '../../lib';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl, waitFor } from '../utils/redis';
import { RedisConnections } from '../../lib/redis/redis-connections';

/** How the promise ended within `ms`: its error, 'resolved', or 'pending'. */
const outcomeWithin = (promise: Promise<unknown>, ms: number): Promise<Error | 'resolved' | 'pending'> =>
  Promise.race([
    promise.then(
      () => 'resolved' as const,
      (error: Error) => error,
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);

/**
 * A producer closes while its Redis is unreachable. ioredis's disconnect() while it waits to
 * reconnect settles nothing it queued, and queues every later command, for a reconnect that
 * never comes: an enqueue sent before the cut (which Redis ran), one made during the outage and
 * one made after close() all stayed pending for ever, saying neither "written" nor "not written".
 */
describe('attack: enqueue() around app.close() while Redis is unreachable', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  it('each rejects with ApplicationClosedError saying whether it may have been written', async () => {
    const producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
    proxy.holdNewConnections();
    const cut = proxy.cutReplyTo('landed');
    const landed = producer.client.enqueue('echo', 1, { key: 'landed' });
    await cut;
    await proxy.close(); // Redis unreachable from now on
    const neverSent = producer.client.enqueue('echo', 2, { key: 'never-sent' });
    // Between two attempts to reconnect: where ioredis's disconnect() settles nothing.
    const { commands } = producer.app.get(RedisConnections);
    await waitFor(() => commands.status === 'reconnecting', { intervalMs: 1 });

    await producer.close();

    const [landedOutcome, neverSentOutcome] = await Promise.all([
      outcomeWithin(landed, 2_000),
      outcomeWithin(neverSent, 2_000),
    ]);
    expect(landedOutcome).toBeInstanceOf(ApplicationClosedError);
    expect((landedOutcome as Error).message).toMatch(/may have run/);
    expect(neverSentOutcome).toBeInstanceOf(ApplicationClosedError);
    expect((neverSentOutcome as Error).message).toMatch(/never sent/);
    const afterClose = await outcomeWithin(producer.client.enqueue('echo', 3, { key: 'after-close' }), 2_000);
    expect(afterClose).toBeInstanceOf(ApplicationClosedError);
    expect((afterClose as Error).message).toMatch(/wrote nothing/);

    // Redis ran the first only.
    const keys = producer.keys;
    expect(await redis.hget(keys.keyState('landed'), 'state')).toBe('queued');
    expect(await redis.exists(keys.keyState('never-sent'), keys.keyState('after-close'))).toBe(0);
  });
});
