import { filter, type Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FLEET_EVENT_DETAIL_MAX, FLEET_EVENT_TEXT_MAX } from '../../lib/client/fleet-events';
import { cutText, longestCut } from '../../lib/task/cut-text';
import { cleanUpAfterSuite, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/**
 * Anyone who can PUBLISH on the Redis writes to a queue's events channel, in JSON text of their
 * own. An item with the fields of an event was delivered as the object JSON.parse built, whatever
 * else it held: fields no worker writes (a 10,000-character `payload`, an own `__proto__` that
 * `Object.assign({}, e)` makes the copy's prototype), an `at` of Infinity (`1e400`) or below
 * zero, a negative `durationMs`, a task id, name, key or detail longer than any a worker
 * publishes (cut past FLEET_EVENT_TEXT_MAX or FLEET_EVENT_DETAIL_MAX, with a marker). A
 * subscriber gets a new object of the event fields alone, and only of an item a worker can have
 * written. A review finding; the first two tests failed.
 */
describe('attack: a foreign publisher on the fleet events channel', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  cleanUpAfterSuite(prefix, redis, () => subscription);

  const valid = { type: 'completed', queue: 'default', taskId: 't1', worker: 'w-1', at: 1 };
  let received: FleetEvent[];
  let errors: unknown[];
  let channel: string;

  beforeAll(async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    channel = t.keys.eventsChannel;
    received = [];
    errors = [];
    subscription = t.client
      .events()
      .pipe(filter((e) => e.type === 'completed'))
      .subscribe({ next: (e) => received.push(e), error: (e: unknown) => errors.push(e) });
    await waitFor(async () => (await subscriberCount(redis, channel)) === 1);
  });

  /** Publishes `text` raw, then a valid event with task id `end`, and answers what came before it. */
  async function deliveredOf(text: string, end: string): Promise<FleetEvent[]> {
    const from = received.length;
    await redis.publish(channel, text);
    await redis.publish(channel, JSON.stringify([{ ...valid, taskId: end }]));
    // On a cluster each PUBLISH may enter at another node: the end marks when both arrived.
    await waitFor(() => received.some((e) => e.taskId === end) || errors.length > 0, { description: end });
    return received.slice(from).filter((e) => e.taskId !== end);
  }

  it('delivers a new object of the event fields alone: no foreign field, no own __proto__', async () => {
    const text =
      `[{"type":"completed","queue":"default","taskId":"t1","worker":"w-1","at":1,"durationMs":2,` +
      `"payload":"${'p'.repeat(10_000)}","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}]`;
    const [event, ...more] = await deliveredOf(text, 'end-1');
    expect({
      more,
      errors,
      keys: Object.keys(event ?? {}).sort(),
      prototype: Object.getPrototypeOf(event) === Object.prototype,
      copied: (Object.assign({}, event) as { polluted?: unknown }).polluted,
    }).toEqual({
      more: [],
      errors: [],
      keys: ['at', 'durationMs', 'queue', 'taskId', 'type', 'worker'],
      prototype: true,
      copied: undefined,
    });
  });

  it('drops an item no worker writes: a time not finite or below zero, text past what a worker publishes', async () => {
    // What a worker publishes at most (a text of 10^15 characters would have the longest marker).
    const longest = (max: number) => cutText('x'.repeat(10 * max), max).padEnd(longestCut(max), 'x');
    const past = (max: number) => 'x'.repeat(longestCut(max) + 1);
    const foreign = [
      { ...valid, at: -1 },
      { ...valid, durationMs: -5 },
      { ...valid, taskId: past(FLEET_EVENT_TEXT_MAX) },
      { ...valid, name: past(FLEET_EVENT_TEXT_MAX) },
      { ...valid, key: past(FLEET_EVENT_TEXT_MAX) },
      { ...valid, worker: 'w'.repeat(FLEET_EVENT_TEXT_MAX + 1) },
      { ...valid, detail: past(FLEET_EVENT_DETAIL_MAX) },
    ];
    // The longest a worker publishes: delivered as it is.
    const written = {
      ...valid,
      taskId: longest(FLEET_EVENT_TEXT_MAX),
      name: longest(FLEET_EVENT_TEXT_MAX),
      key: longest(FLEET_EVENT_TEXT_MAX),
      detail: longest(FLEET_EVENT_DETAIL_MAX),
      worker: 'w'.repeat(FLEET_EVENT_TEXT_MAX),
    };
    // JSON.stringify cannot write Infinity: `1e400` is a number JSON.parse reads as Infinity.
    const infinite = `{"type":"completed","queue":"default","worker":"w-1","at":1e400}`;
    const text = `[${[...foreign, written].map((e) => JSON.stringify(e)).join(',')},${infinite}]`;
    const delivered = await deliveredOf(text, 'end-2');
    // Compared by field lengths: a failure must not print the texts.
    const lengths = (e: FleetEvent) => [
      e.at,
      e.durationMs,
      e.taskId?.length,
      e.name?.length,
      e.key?.length,
      e.detail?.length,
      e.worker.length,
    ];
    expect({ delivered: delivered.map(lengths), errors }).toEqual({
      delivered: [lengths(written as FleetEvent)],
      errors: [],
    });
  });

  it('delivers the events a worker writes unchanged (control)', async () => {
    const event = { ...valid, name: 'echo', key: 'k', detail: 'boom\n\u0000', durationMs: 1.5, at: Date.now() };
    expect(await deliveredOf(JSON.stringify([event]), 'end-3')).toEqual([event]);
  });
});
