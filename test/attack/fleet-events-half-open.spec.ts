import type { Subscription } from 'rxjs';
import { QueueClient, type FleetEvent } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { buildApp } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { redisUrl, waitFor } from '../utils/redis';

/*
 * Review finding: every Redis connection of the library was watched for replies (reply-watchdog.ts)
 * but the subscriber of `QueueClient.events()`, opened beside RedisConnections. Gone half-open (a
 * NAT or load balancer that lost its state: what it sends is swallowed, nothing comes back, TCP
 * does not notice for many minutes), it heard nothing, silently: the fleet completed and failed
 * tasks, and the subscriber got no event, while the watch key (refreshed on the command
 * connection) kept every worker publishing to it. It is watched now as the others are: silent
 * for a lease while a PING waits, dropped; ioredis subscribes again on a new connection. What
 * was published meanwhile is lost (pub/sub; events are not replayed).
 */
describe('attack: an events() subscriber whose connection went half-open', () => {
  const { proxy, redis } = halfOpenSuite();
  const leaseMs = 1_000; // workerBehind's
  let subscription: Subscription | undefined;
  afterEach(() => subscription?.unsubscribe());

  /** The subscribed connections (CLIENT LIST's sub=) that reach Redis through the proxy. */
  const subscribersBehindProxy = async (): Promise<string[]> =>
    ((await redis.client('LIST')) as string)
      .split('\n')
      .filter((line) => / sub=[1-9]/.test(line) && line.includes(` laddr=127.0.0.1:${new URL(redisUrl()).port} `))
      .map((line) => /\baddr=(\S+)/.exec(line)![1])
      .filter((addr) => proxy.carries(addr));

  it('hears the fleet again within a few leases; what was published into the dead connection is lost', async () => {
    // The subscriber's app goes through the proxy; the worker straight to Redis.
    const { app: watcher, prefix, keys } = await workerBehind(proxy, { worker: false });
    const worker = await buildApp(testOptions(prefix));
    await worker.init();
    const fleet = worker.moduleRef.get(QueueClient);
    const received: FleetEvent[] = [];
    subscription = watcher.moduleRef
      .get(QueueClient)
      .events()
      .subscribe((e) => received.push(e));
    /** Runs a task on the worker; whether its completed event reached the subscriber. */
    const heard = async (payload: string): Promise<boolean> => {
      const handle = await fleet.enqueue('echo', payload);
      await handle.result();
      return waitFor(() => received.some((e) => e.type === 'completed' && e.taskId === handle.id), {
        timeoutMs: 200,
        description: `the completed event of ${payload}`,
      }).then(
        () => true,
        () => false,
      );
    };
    await waitFor(() => heard('before the cut'), { timeoutMs: 10_000, description: 'events before the cut' });

    const [cut] = await subscribersBehindProxy();
    expect(cut).toBeDefined();
    proxy.blackholeUpstream(cut);
    // Published to the dead connection (still listed: no drop comes before a lease of silence).
    const marker = { type: 'completed', queue: 'default', taskId: 'into the cut', worker: 'spec', at: 0 };
    const [[, receivers], [, list]] = (await redis
      .multi()
      .publish(keys.eventsChannel, JSON.stringify([marker]))
      .client('LIST')
      .exec()) as [[null, number], [null, string]];
    expect({ receivers, stillListed: list.includes(` addr=${cut} `) }).toEqual({ receivers: 1, stillListed: true });

    // Tasks keep completing; one's event reaches the subscriber once a new connection subscribed.
    let n = 0;
    await waitFor(() => heard(`after the cut ${++n}`), {
      timeoutMs: 5 * leaseMs,
      description: 'an event of a task completed after the cut',
    });
    expect(await subscribersBehindProxy()).not.toContain(cut);
    expect(received.map((e) => e.taskId)).not.toContain('into the cut');

    // Unsubscribed: its connection closes, and its watch stops with it.
    const connections = watcher.moduleRef.get(RedisConnections) as unknown as { watches: Map<unknown, unknown> };
    expect(connections.watches.size).toBe(2); // the command connection's and the subscriber's
    subscription.unsubscribe();
    expect(connections.watches.size).toBe(1);
    await waitFor(async () => (await subscribersBehindProxy()).length === 0, { description: 'the subscriber closed' });
  }, 40_000);
});
