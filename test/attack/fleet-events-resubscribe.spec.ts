import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FleetEventRelay } from '../../lib/consumer/fleet-event-relay';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, testConnection, waitFor } from '../utils/redis';

/**
 * The contract: events published while a subscriber reconnects are lost, and once it is back it
 * receives them again. After a Redis restart the watch key is gone with everything else, and a
 * subscriber set it again only at its next refresh (a third of the watch TTL, 10 s): meanwhile
 * a worker's check found the queue unwatched and dropped the events of a subscriber that was
 * back. A subscriber whose connection comes back watches again at once.
 */
describe('attack: fleet events after a subscriber reconnects to a Redis that lost the watch', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const connectionName = `sq-test-${randomUUID().slice(0, 8)}`;
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  /** Kills every connection of the watcher's app, as a restart of Redis does. */
  async function killWatcherConnections(): Promise<void> {
    const list = (await redis.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${connectionName} `))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await redis.client('KILL', 'ID', id);
  }

  it('watches again as soon as its connection is back', async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({
      prefix,
      options: { worker: false, connection: testConnection({ connectionName }) },
    });
    const received: FleetEvent[] = [];
    subscription = watcher.client.events().subscribe((e) => received.push(e));
    await waitFor(async () => (await redis.exists(worker.keys.eventsWatch)) === 1, { description: 'the watch' });

    // The restart: the watch key is lost, the subscriber's connections drop and come back.
    await redis.del(worker.keys.eventsWatch);
    await killWatcherConnections();
    await waitFor(async () => (await redis.exists(worker.keys.eventsWatch)) === 1, {
      timeoutMs: 5_000,
      description: 'the watch set again after the reconnect (before the 10 s refresh)',
    });
    // A worker's periodic check now finds the queue watched; the next run's event arrives.
    await worker.app.get(FleetEventRelay).checkWatched(['default']);
    const handle = await worker.client.enqueue('echo', 'after the reconnect');
    await handle.result();
    await waitFor(() => received.some((e) => e.type === 'completed' && e.taskId === handle.id), {
      description: 'the completed event',
    });
    // Once, not twice (ioredis resubscribes, and so does the subscriber): a marker event published
    // after it on the relay's own connection comes after any copy.
    await new Promise((resolve) => setImmediate(resolve));
    const marker = { type: 'completed', queue: 'default', taskId: 'marker', worker: 'spec', at: 0 };
    await worker.app.get(RedisConnections).commands.publish(worker.keys.eventsChannel, JSON.stringify([marker]));
    await waitFor(() => received.some((e) => e.taskId === 'marker'), { description: 'the marker' });
    expect(received.filter((e) => e.taskId === handle.id).map((e) => e.type)).toEqual(['completed']);
  });
});
