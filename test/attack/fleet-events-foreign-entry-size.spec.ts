import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FLEET_EVENT_TEXT_MAX } from '../../lib/client/fleet-events';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { publishedSizes, watchedEvents } from '../fixtures/watched-events';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * An event's `detail` is cut to 2,000 characters, but its task id and name went whole. Anyone can
 * XADD to the stream: an entry with a 1,000,000-character id and name is dead-lettered as
 * malformed, and its `dead-lettered` event carried both whole, 2 MB PUBLISHed to every subscriber.
 * The id, the name and the key are now cut past FLEET_EVENT_TEXT_MAX characters (longer than
 * any a valid task has), with the detail's marker. A review finding; the test failed.
 */
describe("attack: a foreign entry's huge id and name in the fleet events", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  it('are published cut to FLEET_EVENT_TEXT_MAX characters, with a marker', async () => {
    const t = await startApp({ prefix });
    const events: FleetEvent[] = [];
    subscription = await watchedEvents(t.client, events);
    const sizes = await publishedSizes(t.keys.eventsChannel);

    const id = `${'i'.repeat(1_000_000)}END`;
    const name = `${'n'.repeat(1_000_000)}END`;
    await redis.xadd(t.keys.stream, '*', 'id', id, 'n', name, 'p', 'null');
    await waitFor(() => events.some((e) => e.type === 'dead-lettered'), { description: 'dead-lettered' });

    const event = events.find((e) => e.type === 'dead-lettered')!;
    const marker = (length: number) => `… [cut: ${length} characters]`;
    // Compared by length and ends: a failure must not print megabytes.
    expect({
      id: [event.taskId!.length, event.taskId!.slice(FLEET_EVENT_TEXT_MAX, FLEET_EVENT_TEXT_MAX + 60)],
      name: [event.name!.length, event.name!.slice(FLEET_EVENT_TEXT_MAX, FLEET_EVENT_TEXT_MAX + 60)],
      largestMessage: Math.max(...sizes) < 8 * FLEET_EVENT_TEXT_MAX,
    }).toEqual({
      id: [FLEET_EVENT_TEXT_MAX + marker(id.length).length, marker(id.length)],
      name: [FLEET_EVENT_TEXT_MAX + marker(name.length).length, marker(name.length)],
      largestMessage: true,
    });
  });
});
