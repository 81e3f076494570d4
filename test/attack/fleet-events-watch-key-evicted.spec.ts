import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FleetEventRelay } from '../../lib/consumer/fleet-event-relay';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * The watch key can go while its subscriber is there and connected: evicted (a key with a TTL is
 * the first a volatile-* maxmemory policy takes), or lost in a failover before it replicated. A
 * worker's next check found no key and stopped publishing until the subscriber's next refresh
 * (up to 10 s), dropping the events of a subscriber that never left. A watcher heard from
 * within its refresh interval is still there, whatever a check says.
 */
describe('attack: fleet events when the watch key is lost under a connected subscriber', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('keeps publishing to a watcher heard from within its refresh interval', async () => {
    const worker = await startApp({ prefix });
    const relay = worker.app.get(FleetEventRelay);
    const announced = jest.spyOn(relay, 'watched');
    const watcher = await startApp({ prefix, options: { worker: false } });
    const received: FleetEvent[] = [];
    subscription = watcher.client.events().subscribe((e) => received.push(e));
    await waitFor(() => announced.mock.calls.length > 0, { description: "the watcher's announcement" });

    await redis.del(worker.keys.eventsWatch); // evicted
    await relay.checkWatched(['default']); // the worker's periodic check: no key
    const handle = await worker.client.enqueue('echo', 'after the eviction');
    await handle.result();
    await waitFor(() => received.some((e) => e.type === 'completed' && e.taskId === handle.id), {
      timeoutMs: 3_000,
      description: 'the completed event (the next refresh is 10 s away)',
    });
  });
});
