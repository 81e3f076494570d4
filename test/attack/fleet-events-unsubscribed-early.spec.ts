import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, Latch, randomPrefix } from '../utils/helpers';

/**
 * A subscriber sets the watch key and announces itself once its SUBSCRIBE is answered. One that
 * unsubscribed while that was in flight still did both: the queue read as watched for the key's
 * whole TTL (30 s) with nobody there, and every worker published its events to no one.
 */
describe('attack: events() unsubscribed while its SUBSCRIBE is in flight', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('neither watches nor announces', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    const commands = t.app.get(RedisConnections).commands;
    const announcements: string[] = [];
    const listener = createRedis();
    listener.on('message', (_: string, message: string) => announcements.push(message));
    await listener.subscribe(t.keys.controlChannel);

    let subscription: Subscription | undefined;
    const answered = new Latch();
    const duplicate = commands.duplicate.bind(commands);
    jest.spyOn(commands, 'duplicate').mockImplementationOnce((...args) => {
      const connection = duplicate(...args);
      const subscribe = connection.subscribe.bind(connection) as (...channels: string[]) => Promise<unknown>;
      // Its SUBSCRIBE answered, the subscriber leaves before anything else runs.
      (connection as { subscribe: unknown }).subscribe = (...channels: string[]) =>
        subscribe(...channels).then((reply) => {
          subscription!.unsubscribe();
          answered.open();
          return reply;
        });
      return connection as Redis;
    });
    subscription = t.client.events().subscribe();
    await answered.wait();
    await new Promise((resolve) => setImmediate(resolve));
    // On the connection the subscriber announces on: any announcement comes before the marker.
    const marked = new Promise<void>((resolve) =>
      listener.on('message', (_: string, m: string) => m === 'marker' && resolve()),
    );
    await commands.publish(t.keys.controlChannel, 'marker');
    await marked;
    expect({ watched: await redis.exists(t.keys.eventsWatch), announcements }).toEqual({
      watched: 0,
      announcements: ['marker'],
    });
  });
});
