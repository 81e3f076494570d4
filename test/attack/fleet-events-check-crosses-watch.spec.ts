import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FleetEventRelay } from '../../lib/consumer/fleet-event-relay';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { cleanUpAfterSuite, expectCounters, startApp } from '../fixtures/test-app';
import { holdNextExistsReply } from '../fixtures/held-exists-reply';
import { createRedis, Latch, randomPrefix } from '../utils/helpers';

/**
 * A worker's "is the queue watched?" (EXISTS on the watch key, its commands connection) and a
 * watcher's announcement (its control channel, another connection) can cross: the EXISTS ran
 * before the watcher set its key, but its "no" arrived after the announcement, and cancelled it.
 * The worker then dropped every event until its next check. A "no" older than the latest
 * announcement is left unheeded.
 */
describe("attack: a worker's watch check crossing a watcher's announcement", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const listener = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('keeps publishing after the announcement when the older check answers no', async () => {
    const worker = await startApp({ prefix });
    const relay = worker.app.get(FleetEventRelay);
    const commands = worker.app.get(RedisConnections).commands;
    // The worker's next EXISTS runs now (no watch key: 0), and its reply is held.
    const { answered, release } = holdNextExistsReply(commands);
    const checking = relay.checkWatched(['default']);
    await answered.wait();
    expect(await redis.exists(worker.keys.eventsWatch)).toBe(0);

    const announced = new Latch();
    const watched = relay.watched.bind(relay);
    jest.spyOn(relay, 'watched').mockImplementation((queue) => {
      watched(queue);
      announced.open();
    });
    const watcher = await startApp({ prefix, options: { worker: false } });
    subscription = watcher.client.events().subscribe();
    await announced.wait();
    release.open();
    await checking;

    const published: string[] = [];
    const sentinel = new Promise<void>((resolve) =>
      listener.on('message', (_: string, message: string) =>
        message === 'sentinel' ? resolve() : published.push(message),
      ),
    );
    await listener.subscribe(worker.keys.eventsChannel);
    const handle = await watcher.client.enqueue('echo', 'after the announcement');
    await handle.result();
    await expectCounters(worker.events, { completed: 1 });
    // The relay publishes on the tick after the event, on this connection: nothing comes after the sentinel.
    await new Promise((resolve) => setImmediate(resolve));
    await commands.publish(worker.keys.eventsChannel, 'sentinel');
    await sentinel;
    const completed = published
      .flatMap((message) => JSON.parse(message) as FleetEvent[])
      .filter((e) => e.type === 'completed')
      .map((e) => e.taskId);
    expect(completed).toEqual([handle.id]);
  });
});
