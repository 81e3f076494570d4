import Redis from 'ioredis';
import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FLEET_EVENT_MESSAGE_MAX } from '../../lib/client/fleet-events';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { publishedSizes, watchedEvents } from '../fixtures/watched-events';
import { createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/**
 * A subscriber parsed every message of its events channel, whatever its size, on the process's
 * one thread: a foreign PUBLISH of 12,000,000 characters of nested arrays (`[[[…]]]`) held the
 * process running `events()` (an app with the dashboard, say) for seconds, its HTTP answers and
 * timers with it. A subscriber now drops a message longer than FLEET_EVENT_MESSAGE_MAX unparsed,
 * and a worker splits a batch that would be longer into messages within it. A review finding;
 * both tests failed.
 */
describe('attack: the size of a message on the fleet events channel', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  const valid = { type: 'completed', queue: 'default', worker: 'w-1', at: 1 };

  it('a subscriber drops a message past FLEET_EVENT_MESSAGE_MAX unparsed, and is not held by it', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    const received: FleetEvent[] = [];
    subscription = t.client.events().subscribe((e) => received.push(e));
    await waitFor(async () => (await subscriberCount(redis, t.keys.eventsChannel)) === 1);

    // How long each message held the subscriber's process: the time its connection's 'message'
    // listeners took, on the one thread, measured around them. That is what the guard spares (the
    // parse took 4-8 s here); the wall time around it also holds this process's own 12 MB string,
    // its write and ioredis' read of it, which a loaded machine stretches with or without the guard.
    const heldMs = new Map<number, number>();
    const emit = Redis.prototype.emit;
    const timed = jest.spyOn(Redis.prototype, 'emit').mockImplementation(function (
      this: Redis,
      event: string | symbol,
      ...args: unknown[]
    ) {
      const began = performance.now();
      try {
        return emit.call(this, event, ...args);
      } finally {
        if (event === 'message' && args[0] === t.keys.eventsChannel) {
          const length = String(args[1]).length;
          heldMs.set(length, Math.max(heldMs.get(length) ?? 0, performance.now() - began));
        }
      }
    });
    try {
      await redis.publish(t.keys.eventsChannel, `${'['.repeat(6_000_000)}${']'.repeat(6_000_000)}`);
      const long = Array.from({ length: 1_000 }, (_, i) => ({ ...valid, taskId: `long-${i}` }));
      expect(JSON.stringify(long).length).toBeGreaterThan(FLEET_EVENT_MESSAGE_MAX);
      await redis.publish(t.keys.eventsChannel, JSON.stringify(long));
      await redis.publish(t.keys.eventsChannel, JSON.stringify([{ ...valid, taskId: 'end' }]));
      await waitFor(() => received.some((e) => e.taskId === 'end'), { timeoutMs: 30_000, description: 'end' });
    } finally {
      timed.mockRestore();
    }
    // The nested message reached the subscriber (so its hold was measured), and held it for no
    // more than a length check: under 1 s even on a loaded machine, seconds when parsed.
    const nested = heldMs.get(12_000_000);
    const held = nested === undefined ? 'never delivered' : nested < 1_000 ? 'under 1 s' : `${Math.round(nested)} ms`;
    expect({ delivered: received.length, last: received.at(-1)?.taskId, held }).toEqual({
      delivered: 1,
      last: 'end',
      held: 'under 1 s',
    });
  });

  it("a worker splits a tick's events into messages within FLEET_EVENT_MESSAGE_MAX, the largest event too", async () => {
    const t = await startApp({ prefix });
    const received: FleetEvent[] = [];
    subscription?.unsubscribe();
    subscription = await watchedEvents(t.client, received);
    const sizes = await publishedSizes(t.keys.eventsChannel);
    received.length = 0;

    // One tick: 1,500 events of a 1,000-character id (1.5 MB), and one with every text at its
    // bound in characters JSON writes as 6-character escapes.
    const escaped = '\u0001'.repeat(100_000);
    for (let i = 0; i < 1_500; i++)
      t.events.emit({ type: 'completed', queue: 'default', taskId: `${i}:${'i'.repeat(1_000)}` });
    t.events.emit({
      type: 'dead-lettered',
      queue: 'default',
      taskId: escaped,
      name: escaped,
      key: escaped,
      detail: escaped,
    });
    await waitFor(() => received.length === 1_501, { timeoutMs: 10_000, description: 'every event' });

    expect({
      ids: new Set(received.map((e) => e.taskId!.split(':')[0])).size,
      largest: received.some((e) => e.type === 'dead-lettered'),
      split: sizes.length > 1,
      longestMessage: Math.max(...sizes) <= FLEET_EVENT_MESSAGE_MAX,
    }).toEqual({ ids: 1_501, largest: true, split: true, longestMessage: true });
  });
});
