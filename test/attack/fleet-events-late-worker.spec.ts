import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { cleanUpAfterSuite, expectCounters, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * A watcher announces itself once on the control channel, then only refreshes its watch key. A
 * worker that starts after that (a deploy, a scale-up) heard no announcement: its first event
 * asked Redis whether the queue is watched and was dropped, as was every event until the reply.
 * A worker asks once when it starts, so it publishes from its first event on.
 */
describe('attack: fleet events of a worker that starts while the queue is watched', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const listener = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('publishes the first run it settles', async () => {
    const watcher = await startApp({ prefix, options: { worker: false } });
    const received: FleetEvent[] = [];
    subscription = watcher.client.events().subscribe((e) => received.push(e));
    await waitFor(async () => (await redis.exists(watcher.keys.eventsWatch)) === 1, { description: 'the watch' });

    const published: string[] = [];
    const sentinel = new Promise<void>((resolve) =>
      listener.on('message', (_: string, message: string) =>
        message === 'sentinel' ? resolve() : published.push(message),
      ),
    );
    await listener.subscribe(watcher.keys.eventsChannel);
    const worker = await startApp({ prefix });
    const handle = await watcher.client.enqueue('echo', 'first');
    await handle.result();
    await expectCounters(worker.events, { completed: 1 });
    // The relay publishes on the tick after the event, on this connection: nothing comes after the sentinel.
    await new Promise((resolve) => setImmediate(resolve));
    await worker.app.get(RedisConnections).commands.publish(watcher.keys.eventsChannel, 'sentinel');
    await sentinel;

    const completed = published
      .flatMap((message) => JSON.parse(message) as FleetEvent[])
      .filter((e) => e.type === 'completed')
      .map((e) => e.taskId);
    expect(completed).toEqual([handle.id]);
    await waitFor(() => received.some((e) => e.type === 'completed' && e.taskId === handle.id));
  });
});
