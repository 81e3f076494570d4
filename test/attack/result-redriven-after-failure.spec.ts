import { Latch } from '../utils/latch';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { resultSubscriberOf } from '../fixtures/result-subscriber';
import { unanswered } from '../utils/written-commands';
import { RequestHoldingProxy } from '../fixtures/request-holding-proxy';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "result() tells what happened": a task failed for good (its done message said so),
 * then its dead letter was redriven before the waiter read the stored failure. The redrive marks
 * an unkeyed task's result pending, and deletes a keyed one's (its key state names it queued
 * again), so the read found no failure and result() rejected with TaskFailedError "its error is
 * not stored (resultTtlMs 0, or expired)": neither true, and the task was running again. As the
 * README says of a redriven task, result() on its id waits for the new run.
 */
describe('result(): a redrive between a failure’s done message and its read', () => {
  const redis = createRedis();
  const proxy = new RequestHoldingProxy();
  let url: string;
  let prefix: string;

  beforeAll(async () => {
    url = `redis://127.0.0.1:${await proxy.start()}`;
  });
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    await closeApps();
    proxy.releaseAll();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(async () => {
    await proxy.stop();
    await closeAll();
  });

  it.each([
    ['an unkeyed task', undefined],
    ['a keyed task', 'redriven-key'],
  ])('%s: the wait goes on, and resolves with the new run’s value', async (_, key) => {
    const probe = new Probe();
    const producer = await startApp({ prefix, probe, options: { worker: false, connection: { url } } });
    const consumer = await startApp({ prefix, probe });
    const go = new Latch();
    probe.on('once', async () => {
      await go.wait();
      if (probe.runsOf('once').length === 1) throw new Error('first run fails');
      return 'second run';
    });
    const handle = await producer.client.enqueue('once', 'x', key ? { key } : {});
    const result = handle.result({ timeoutMs: 15_000 }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, producer.keys.doneChannel)) === 1, {
      description: 'result() subscribed',
    });
    // The wait's reads of the task's state (as it began, and once its SUBSCRIBE was answered) are
    // answered before the run fails: one answered after the failure finds it, and the wait ends
    // with it before the done message, whose read this attack holds (a loaded machine did that).
    const commands = producer.app.get(RedisConnections).commands;
    await waitFor(() => unanswered(resultSubscriberOf(producer)) === 0 && unanswered(commands) === 0, {
      description: "the wait's reads answered",
    });

    // The read of the stored failure that the done message starts is held in the proxy (ioredis
    // sends command names as called: `get`).
    const resultKey = producer.keys.result(handle.id);
    proxy.holdRequestsFrom(`get\r\n$${Buffer.byteLength(resultKey)}\r\n${resultKey}`);
    go.open();
    await waitFor(() => proxy.held > 0, { description: 'the failure heard, its read held' });
    expect(consumer.events.counters()['dead-lettered']).toBe(1);

    await expect(consumer.client.redriveAll({ queue: 'default' })).resolves.toMatchObject({ redriven: 1 });
    proxy.releaseAll();
    expect(await result).toBe('second run');
    expect(probe.runsOf('once')).toHaveLength(2);
  });
});
