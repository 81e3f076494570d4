import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { waitFor } from './redis';

/**
 * Waits until a subscriber has seen everything published on `channel` so far: publishes a marker
 * and waits for it in `received` (Redis delivers one channel's messages in publish order), then
 * takes the marker back out. So "no other message" is asserted without sleeping.
 */
export async function receivedSoFar(publisher: Redis, channel: string, received: string[]): Promise<string[]> {
  const marker = `marker:${randomUUID()}`;
  await publisher.publish(channel, marker);
  await waitFor(() => received.includes(marker), { description: `marker on ${channel}` });
  received.splice(received.indexOf(marker), 1);
  return received;
}
