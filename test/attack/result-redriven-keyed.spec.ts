import { TaskCancelledError, TaskFailedError, type TaskHandle } from '../../lib';
import { Latch } from '../utils/latch';
import { RequestHoldingProxy } from '../fixtures/request-holding-proxy';
import { Probe } from '../fixtures/probe';
import { resultSubscriberOf } from '../fixtures/result-subscriber';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "result() on a redriven task's id waits for the new run", for a keyed task. The wait
 * heard the first run's failure ('f:<id>'); its dead letter was redriven before the wait read
 * the stored failure. A keyed redrive deleted the result (an unkeyed one marks it pending), so:
 * - a handle built from the id alone (`client.handle(id, { queue })`), which knows no key state
 *   to read, took the empty result for the failure's: TaskFailedError "its error is not stored",
 *   while the task ran again;
 * - under a module resultTtlMs of 0 the new run, settled before the wait's state read, left
 *   nothing (no result, no key state, no entry), which read as the first failure again.
 * Each interleaving is held in a proxy on the waiting app's command connection: fail, dead
 * letter, redrive, (settle,) then the held read.
 */
describe('result(): a keyed task redriven between its failure’s done message and its read', () => {
  const redis = createRedis();
  const proxy = new RequestHoldingProxy();
  let url: string;
  let prefix: string;
  let probe: Probe;

  beforeAll(async () => {
    url = `redis://127.0.0.1:${await proxy.start()}`;
  });
  beforeEach(() => {
    prefix = randomPrefix();
    probe = new Probe();
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

  /**
   * A producer behind the proxy waiting on a task (keyed unless `key` is null) whose first
   * run fails for good; the wait's read of the stored failure is held past the redrive, the new
   * run started. `handleOf` picks the handle that waits.
   */
  async function failAndHold(
    resultTtlMs: number,
    handleOf: (producer: TestApp, enqueued: TaskHandle) => TaskHandle,
    key: string | null = 'redriven-key',
  ) {
    const producer = await startApp({
      prefix,
      probe,
      options: { worker: false, connection: { url }, resultTtlMs },
    });
    const consumer = await startApp({
      prefix,
      probe,
      options: { resultTtlMs },
    });
    const go = new Latch();
    const again = new Latch();
    probe.on('once', async () => {
      await go.wait();
      if (probe.runsOf('once').length === 1) throw new Error('first run fails');
      await again.wait();
      return 'second run';
    });
    const enqueued = await producer.client.enqueue('once', 'x', key === null ? {} : { key });
    const { id } = enqueued;
    const result = handleOf(producer, enqueued)
      .result({ timeoutMs: 15_000 })
      .catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, producer.keys.doneChannel)) === 1, {
      timeoutMs: 15_000,
      description: 'result() subscribed',
    });
    // The wait's first state read goes out once its subscriber has read the SUBSCRIBE reply, which
    // Redis counts before that: a failure settled ahead of the read was read there as failed, and no
    // GET followed (the spec timed out at 'the failure heard'). A message published now is read
    // after that reply, and a call sent after the state read is answered after it.
    let subscribed = false;
    resultSubscriberOf(producer).on('message', (_channel: string, message: string) => {
      if (message === 'c:spec-subscribed') subscribed = true;
    });
    await waitFor(
      async () => {
        await redis.publish(producer.keys.doneChannel, 'c:spec-subscribed');
        return subscribed;
      },
      { timeoutMs: 15_000, description: "the result subscriber's SUBSCRIBE read" },
    );
    await producer.client.findTask(id, { queue: 'default' });
    const resultGet = `get\r\n$${Buffer.byteLength(producer.keys.result(id))}\r\n${producer.keys.result(id)}`;
    proxy.holdRequestsFrom(resultGet);
    go.open();
    await waitFor(() => proxy.held > 0, {
      timeoutMs: 15_000,
      description: 'the failure heard, its read held',
    });
    await expect(consumer.client.redriveAll({ queue: 'default' })).resolves.toMatchObject({ redriven: 1 });
    await waitFor(() => probe.runsOf('once').length === 2, {
      timeoutMs: 15_000,
      description: 'the redriven run started',
    });
    return { id, result, again, consumer, producer };
  }

  it('a handle by id alone waits for the redriven run, and resolves with its value', async () => {
    const { result, again } = await failAndHold(3_600_000, (producer, { id }) =>
      producer.client.handle(id, { queue: 'default' }),
    );
    proxy.releaseAll(); // the read after the redrive, the new run still running
    again.open();
    expect(await result).toBe('second run');
    expect(probe.runsOf('once')).toHaveLength(2);
  });

  it('a handle with its key reads a cancel of the redriven run past its mark', async () => {
    // The control for the mark a keyed redrive leaves: a cancel does not touch it, the key state answers.
    const { id, result, again, consumer, producer } = await failAndHold(3_600_000, (app, { id: taskId }) =>
      app.client.handle(taskId, { queue: 'default', key: 'redriven-key' }),
    );
    await expect(consumer.client.cancel('redriven-key')).resolves.toBe(true);
    proxy.releaseAll();
    expect(await result).toBeInstanceOf(TaskCancelledError);
    again.open(); // the cancelled run returns: its settle is stale, and writes nothing
    await waitFor(() => consumer.events.counters()['superseded-tail'] === 1, {
      timeoutMs: 15_000,
      description: 'the run settled stale',
    });
    expect(await redis.get(producer.keys.result(id))).toBe('{"ok":null}');
    const later = producer.client.handle(id, {
      queue: 'default',
      key: 'redriven-key',
    });
    await expect(later.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('module resultTtlMs 0, the new run settled before the state read: resolves as it completed, not with the old failure', async () => {
    // The enqueue's own handle: it knows the first run's entry, gone since.
    const { id, result, again, consumer } = await failAndHold(0, (_, enqueued) => enqueued);
    // The GET, after the redrive, starts a state read (the only request naming the id bare, as an
    // argument), held until the new run settled: nothing of it is kept, no result, no key state.
    proxy.releaseAll();
    proxy.holdRequestsFrom(`$${id.length}\r\n${id}\r\n`);
    await waitFor(() => proxy.held > 0, { timeoutMs: 15_000, description: 'the state read held' });
    again.open();
    await waitFor(() => consumer.events.counters().completed === 1, {
      timeoutMs: 15_000,
      description: 'the new run completed',
    });
    // The read of the result its done message starts waits behind the held state read (the proxy
    // holds what that connection sends after it), so the state read answers first.
    proxy.releaseAll();
    const answer = await result;
    expect(answer).not.toBeInstanceOf(TaskFailedError);
    expect(answer).toBeUndefined(); // nothing is kept: the value is not known, the completion is
  });

  it.each([
    ['a keyed task', 'redriven-key'],
    ['an unkeyed task', null],
  ])(
    'module resultTtlMs 0, %s whose new run settled before the failure’s read: answers as the new run completed',
    async (_, key) => {
      const { id, result, again, consumer, producer } = await failAndHold(0, (__, enqueued) => enqueued, key);
      // The new run's own done message, heard by the waiting app: this listener comes after the
      // waiter's, so once it hears it the waiter has too (its read of that run's result is queued
      // behind the held read).
      let heard = false;
      resultSubscriberOf(producer).on('message', (_channel: string, message: string) => {
        if (message.split(',').includes(`c:${id}`)) heard = true;
      });
      again.open();
      await waitFor(() => consumer.events.counters().completed === 1, {
        timeoutMs: 15_000,
        description: 'the new run completed',
      });
      await waitFor(() => heard, { timeoutMs: 15_000, description: 'its done message heard' });
      proxy.releaseAll(); // the failure's read finds nothing: the new run kept nothing
      const answer = await result;
      expect(answer).not.toBeInstanceOf(TaskFailedError);
      expect(answer).toBeUndefined();
    },
  );
});
