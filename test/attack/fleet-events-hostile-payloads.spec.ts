import { filter, type Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/**
 * Anyone who can PUBLISH on the Redis can write to a queue's events channel. A batch whose items
 * were not events (null, numbers, objects without a type or with fields of the wrong types) was
 * passed on as FleetEvents: the first operator reading `e.type` threw, and the Observable of that
 * subscriber errored and ended. Only well-formed events are delivered; the rest are dropped.
 */
describe('attack: hostile payloads on the fleet events channel', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('delivers the well-formed events of a batch and never errors the Observable', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    const received: FleetEvent[] = [];
    const errors: unknown[] = [];
    subscription = t.client
      .events()
      .pipe(filter((e) => e.type === 'completed'))
      .subscribe({ next: (e) => received.push(e), error: (e: unknown) => errors.push(e) });
    await waitFor(async () => (await subscriberCount(redis, t.keys.eventsChannel)) === 1);

    const valid = { type: 'completed', queue: 'default', taskId: 't1', name: 'echo', worker: 'w-1', at: 1 };
    const hostile: unknown[] = [
      null,
      5,
      'completed',
      [],
      { type: 'completed' },
      { ...valid, taskId: 5 },
      { ...valid, durationMs: 'slow' },
      { ...valid, type: 'exploded' },
      { ...valid, queue: 'another' },
    ];
    await redis.publish(t.keys.eventsChannel, JSON.stringify([...hostile, valid]));
    await redis.publish(t.keys.eventsChannel, JSON.stringify({ not: 'a batch' }));
    await redis.publish(t.keys.eventsChannel, JSON.stringify([{ ...valid, taskId: 't2' }]));
    await waitFor(() => received.length >= 2 || errors.length > 0, { description: 'the valid events, or an error' });
    // On a cluster each PUBLISH may enter at another node: their order is not kept.
    received.sort((a, b) => a.taskId!.localeCompare(b.taskId!));
    expect({ received, errors }).toEqual({ received: [valid, { ...valid, taskId: 't2' }], errors: [] });
  });
});
