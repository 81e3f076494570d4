import { TaskFailedError } from '../../lib';
import { Latch } from '../utils/latch';
import { RequestHoldingProxy } from '../fixtures/request-holding-proxy';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "with resultTtlMs 0 a result() waiting when the task settles still rejects with
 * TaskFailedError", for a keyed task whose key moved on right after the failure. The failure's
 * token is read with the task's state (it may have been redriven since). With nothing kept, the
 * key state of the failed run goes with its settle; an enqueue of the key in between (a caller
 * retrying it) writes a fresh state naming the new run, with no trace of the run it followed, and
 * the state read took the failed run for superseded: result() rejected with TaskSupersededError.
 * A redrive of this version marks the result pending, so a failure's read that finds no mark
 * finds a task that did not run again: a newer run of its key does not undo its failure.
 */
describe('result(): a keyed failure with nothing kept, its key enqueued again before the read', () => {
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
    proxy.releaseAll();
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(async () => {
    await proxy.stop();
    await closeAll();
  });

  it('rejects with the failure it was told, not TaskSupersededError', async () => {
    const probe = new Probe();
    const producer = await startApp({ prefix, probe, options: { worker: false, connection: { url } } });
    const consumer = await startApp({ prefix, probe, options: { resultTtlMs: 0 } });
    const go = new Latch();
    const second = new Latch();
    probe.on('once', async () => {
      if (probe.runsOf('once').length === 1) {
        await go.wait();
        throw new Error('fails for good');
      }
      await second.wait(); // the newer run stays live while the failure is read
      return 'second';
    });
    const handle = await producer.client.enqueue('once', 'x', { key: 'moved-on' });
    const result = handle.result({ timeoutMs: 15_000 }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, producer.keys.doneChannel)) === 1, {
      description: 'result() subscribed',
    });

    // The failure's read of its stored result (nothing: resultTtlMs 0) is held.
    const resultKey = producer.keys.result(handle.id);
    proxy.holdRequestsFrom(`get\r\n$${Buffer.byteLength(resultKey)}\r\n${resultKey}`);
    go.open();
    await waitFor(() => proxy.held > 0, { description: 'the failure heard, its read held' });
    const newer = await consumer.client.enqueue('once', 'y', { key: 'moved-on' });
    expect(newer.created).toBe(true);
    proxy.releaseAll();
    const error = await result;
    second.open();
    expect(error).toBeInstanceOf(TaskFailedError);
  });
});
