import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FLEET_EVENT_DETAIL_MAX } from '../../lib/client/fleet-events';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { publishedSizes, watchedEvents } from '../fixtures/watched-events';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * A failed run's event carries the error's message as `detail`, and a watched worker published it
 * whole: a handler throwing a 4 MB message made the worker PUBLISH 8 MB (failed, then
 * dead-lettered) to every subscriber, each Redis output buffer holding it, each subscriber parsing
 * it. What is published is now capped, the detail cut with a marker that says how long it was.
 */
describe('attack: a huge error message in the fleet events', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('is published cut to FLEET_EVENT_DETAIL_MAX characters, with a marker', async () => {
    const t = await startApp({ prefix });
    const huge = `${'x'.repeat(4_000_000)}END`;
    t.probe.on('once', () => {
      throw new Error(huge);
    });
    const events: FleetEvent[] = [];
    subscription = await watchedEvents(t.client, events);
    const sizes = await publishedSizes(t.keys.eventsChannel);

    const handle = await t.client.enqueue('once', null);
    // The stored failure is the handler's own, cut past FAILURE_MESSAGE_MAX (stored-failure-size.spec.ts).
    await expect(handle.result()).rejects.toThrow(`[cut: ${huge.length} characters]`);
    await waitFor(() => events.some((e) => e.type === 'dead-lettered' && e.taskId === handle.id));

    const detail = events.find((e) => e.type === 'failed' && e.taskId === handle.id)!.detail!;
    // Compared by length and ends: a failure must not print megabytes.
    expect({
      head: detail.startsWith('x'.repeat(FLEET_EVENT_DETAIL_MAX)),
      tail: detail.slice(FLEET_EVENT_DETAIL_MAX, FLEET_EVENT_DETAIL_MAX + 60),
      length: detail.length,
      largestMessage: Math.max(...sizes) < 4 * FLEET_EVENT_DETAIL_MAX,
    }).toEqual({
      head: true,
      tail: `… [cut: ${huge.length} characters]`,
      length: FLEET_EVENT_DETAIL_MAX + `… [cut: ${huge.length} characters]`.length,
      largestMessage: true,
    });
  });
});
