import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { drain } from '../../lib/testing';
import { Latch, useSpecRedis } from '../utils/helpers';
import { echoBlockedBy } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, waitFor } from '../utils/redis';

// counts().waiting, inspect() and the depth gauge after replace() and remove() deleted queued
// entries. Redis 7.0 to 7.2 can report the group's `lag` one too high then (it counts a deleted
// entry as unread: redis/redis#13337), so the count must not rest on `lag`.
describe('waiting is exact after queued entries are deleted', () => {
  const { prefix, redis } = useSpecRedis();
  let t: TestApp;
  let gate: Latch;
  let registry: Registry;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    gate = new Latch();
    registry = new Registry();
    // One slot: a blocked run fills it, so later enqueues stay unread in the stream.
    t = await startApp({
      prefix,
      options: { concurrency: 1 },
      imports: [StreamQueueMetricsModule.forRoot({ registry })],
    });
    t.probe.on('echo', echoBlockedBy(gate));
  });
  afterEach(async () => {
    gate.open();
    await closeApps();
  });

  /** What the stream holds past the group's read position: the truth `waiting` must equal. */
  async function unread(): Promise<number> {
    const groups = (await redis.xinfo('GROUPS', t.keys.stream)) as unknown[][];
    const group = groups.find((g) => g[g.indexOf('name') + 1] === CONSUMER_GROUP)!;
    const last = String(group[group.indexOf('last-delivered-id') + 1]);
    return (await redis.xrange(t.keys.stream, `(${last}`, '+')).length;
  }

  async function expectWaiting(expected: number): Promise<void> {
    expect(await unread()).toBe(expected);
    expect(await t.client.counts()).toMatchObject({ waiting: expected, waitingExact: true });
    expect(await t.client.inspect()).toMatchObject({ waiting: expected, waitingExact: true });
    expect(await registry.metrics()).toContain(`${METRIC_NAMES.depth}{queue="default",state="waiting"} ${expected}`);
  }

  async function blockTheSlot(): Promise<void> {
    await t.client.enqueue('echo', 'block');
    await waitFor(async () => (await t.client.counts()).running === 1, { description: 'the slot is taken' });
  }

  it('after remove(id) of a queued task, and once everything ran', async () => {
    await blockTheSlot();
    const removed = await t.client.enqueue('echo', 'removed');
    await t.client.remove(removed.id);
    const later = await t.client.enqueue('echo', 'later');
    await expectWaiting(1);

    gate.open();
    await expect(later.result()).resolves.toBe('later');
    await waitFor(async () => (await t.client.counts()).running === 0, { description: 'all settled' });
    await expectWaiting(0);
  });

  it('after replace() of a queued keyed task, and once everything ran', async () => {
    await blockTheSlot();
    await t.client.enqueue('echo', 'first', { key: 'k' });
    const second = await t.client.replace('echo', 'second', { key: 'k' });
    await t.client.enqueue('echo', 'other');
    await expectWaiting(2);

    gate.open();
    await expect(second.result()).resolves.toBe('second');
    await waitFor(async () => (await t.client.counts()).running === 0 && (await unread()) === 0, {
      description: 'all settled',
    });
    await expectWaiting(0);
  });

  it('after every worker stopped on an empty stream and a queued task was removed', async () => {
    await expect((await t.client.enqueue('echo', 'ran')).result()).resolves.toBe('ran');
    await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'the stream emptied' });
    await t.close();
    registry = new Registry();
    t = await startApp({
      prefix,
      options: { worker: false },
      imports: [StreamQueueMetricsModule.forRoot({ registry })],
    });
    const removed = await t.client.enqueue('echo', 'removed');
    await expectWaiting(1);
    await t.client.remove(removed.id);
    await expectWaiting(0);
  });

  it("the testing module's drain() does not wait for a deleted entry either", async () => {
    await blockTheSlot();
    await t.client.remove((await t.client.enqueue('echo', 'removed')).id);
    const later = await t.client.enqueue('echo', 'later');
    gate.open();
    await expect(later.result()).resolves.toBe('later');
    await expect(drain(t.app, { timeoutMs: 2_000 })).resolves.toBeUndefined();
  });
});
