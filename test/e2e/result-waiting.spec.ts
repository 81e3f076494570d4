import { randomUUID } from 'node:crypto';
import {
  ApplicationClosedError,
  StreamQueueError,
  TaskCancelledError,
  TaskFailedError,
  TaskSupersededError,
  TaskTimeoutError,
} from '../../lib';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/** Settles like `promise`, as a value or as the error: `expect` can then inspect either. */
const outcome = <T>(promise: Promise<T>): Promise<T | unknown> => promise.catch((e: unknown) => e);

/**
 * result() and status() against the done-channel contract: tokens `<kind>:<taskId>` (c completed,
 * f failed, s superseded, x cancelled) or bare ids from older workers, and a state inferred from
 * Redis when the wait begins after the task settled. Most cases play the worker's part by hand
 * (PUBLISH, SET, HSET, XDEL) against a producer-only app.
 */
describe('result waiting', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let producer: TestApp;

  const subscribers = async (): Promise<number> => {
    const n = await subscriberCount(redis, producer.keys.doneChannel);
    return n;
  };
  const subscribed = () => waitFor(async () => (await subscribers()) === 1, { description: 'result() subscribed' });
  const publish = (message: string) => redis.publish(producer.keys.doneChannel, message);
  const store = (id: string, stored: unknown) => redis.set(producer.keys.result(id), JSON.stringify(stored));

  beforeEach(async () => {
    producer = await startApp({ prefix, options: { worker: false } });
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  describe('after close (issue 15 item 3)', () => {
    it('result() rejects at once with ApplicationClosedError and opens no subscriber', async () => {
      const handle = await producer.client.enqueue('echo', 'never run');
      await producer.close();

      const error = await outcome(handle.result({ timeoutMs: 5_000 }));

      expect(error).toBeInstanceOf(ApplicationClosedError);
      expect(error).toBeInstanceOf(StreamQueueError);
      expect(error).toMatchObject({ code: 'APPLICATION_CLOSED' });
      await expect(subscribers()).resolves.toBe(0);
    });

    it('a wait pending at close rejects with ApplicationClosedError', async () => {
      const waiting = outcome(producer.client.handle(randomUUID()).result({ timeoutMs: 5_000 }));
      await subscribed();
      await producer.close();
      await expect(waiting).resolves.toMatchObject({ code: 'APPLICATION_CLOSED' });
    });
  });

  describe('subscriptions (issue 15 item 4)', () => {
    it('unsubscribes once the last wait on a queue settles, and subscribes again for a new one', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const first = producer.client.handle(a).result({ timeoutMs: 5_000 });
      // Long enough that b still waits when a's result has come, on a loaded machine too (200 ms was not).
      const second = outcome(producer.client.handle(b).result({ timeoutMs: 1_500 }));
      await subscribed();

      await store(a, { ok: true, value: 'a' });
      await publish(`c:${a}`);
      await expect(first).resolves.toBe('a');
      await expect(subscribers()).resolves.toBe(1); // b still waits
      await expect(second).resolves.toBeInstanceOf(TaskTimeoutError);
      await waitFor(async () => (await subscribers()) === 0, { description: 'unsubscribed' });

      const third = producer.client.handle(a).result({ timeoutMs: 5_000 });
      await expect(third).resolves.toBe('a'); // found by its read
      await waitFor(async () => (await subscribers()) === 0, { description: 'unsubscribed again' });
      const fourth = producer.client.handle(b).result({ timeoutMs: 5_000 });
      await subscribed();
      await publish(`c:${b}`);
      await expect(fourth).resolves.toBeUndefined();
    });

    it('a wait that starts while the last one unsubscribes still gets its completion', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      let late: Promise<unknown> | undefined;
      let lateSettled = false;
      // Started in the same turn as the UNSUBSCRIBE that the first wait's end sends.
      const first = producer.client
        .handle(a)
        .result({ timeoutMs: 5_000 })
        .then((value) => {
          late = producer.client
            .handle(b)
            .result({ timeoutMs: 10_000 })
            .finally(() => (lateSettled = true));
          return value;
        });
      await subscribed();
      await publish(`c:${a}`);
      await expect(first).resolves.toBeUndefined();

      // Nothing is stored for b, so only a message can settle it: publish until one arrives.
      await waitFor(
        async () => {
          await publish(`c:${b}`);
          return lateSettled;
        },
        { description: 'the late wait resolved by its message' },
      );
      await expect(late).resolves.toBeUndefined();
      await waitFor(async () => (await subscribers()) === 0, { description: 'unsubscribed' });
    });

    it('a process that waited once does not receive the completions of unrelated tasks', async () => {
      const id = randomUUID();
      const waiting = producer.client.handle(id).result({ timeoutMs: 5_000 });
      await subscribed();
      await publish(`c:${id}`);
      await waiting;

      const worker = await startApp({ prefix, probe: new Probe() });
      await worker.client.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ name: 'echo', payload: i })));
      await waitFor(() => worker.probe.runs.length === 50, { description: '50 runs' });
      await expect(subscribers()).resolves.toBe(0);
    });
  });

  describe('done tokens', () => {
    it.each([
      ['c: with nothing stored resolves undefined', 'c', null, undefined],
      ['c: resolves the stored value', 'c', { ok: true, value: { n: 1 } }, { n: 1 }],
      ['a bare id (an older worker) resolves the stored value', '', { ok: true, value: 7 }, 7],
    ])('%s', async (_, kind, stored, expected) => {
      const id = randomUUID();
      const waiting = producer.client.handle(id).result({ timeoutMs: 5_000 });
      await subscribed();
      if (stored) await store(id, stored);
      await publish(kind ? `${kind}:${id}` : id);
      await expect(waiting).resolves.toEqual(expected);
    });

    it('f: rejects with TaskFailedError, with the stored error or a generic one', async () => {
      const [stored, none] = [randomUUID(), randomUUID()];
      const withError = outcome(producer.client.handle(stored).result({ timeoutMs: 5_000 }));
      const without = outcome(producer.client.handle(none).result({ timeoutMs: 5_000 }));
      await subscribed();
      await store(stored, { ok: false, error: { name: 'RangeError', message: 'too far' } });
      await publish(`f:${stored},f:${none}`);

      await expect(withError).resolves.toBeInstanceOf(TaskFailedError);
      await expect(withError).resolves.toMatchObject({
        code: 'TASK_FAILED',
        causeName: 'RangeError',
        message: 'too far',
      });
      await expect(without).resolves.toBeInstanceOf(TaskFailedError);
      await expect(without).resolves.toMatchObject({ taskId: none, message: expect.stringContaining(none) });
    });

    it('s: and x: reject with TaskSupersededError and TaskCancelledError', async () => {
      const [s, x, other] = [randomUUID(), randomUUID(), randomUUID()];
      const superseded = outcome(producer.client.handle(s).result({ timeoutMs: 5_000 }));
      const cancelled = outcome(producer.client.handle(x).result({ timeoutMs: 5_000 }));
      await subscribed();
      await publish(`c:${other},s:${s},x:${x}`);

      await expect(superseded).resolves.toBeInstanceOf(TaskSupersededError);
      await expect(superseded).resolves.toMatchObject({ code: 'TASK_SUPERSEDED', taskId: s });
      await expect(cancelled).resolves.toBeInstanceOf(TaskCancelledError);
      await expect(cancelled).resolves.toMatchObject({ code: 'TASK_CANCELLED', taskId: x });
    });

    it('a bare id with the pending marker (a retry waits) or nothing stored keeps waiting', async () => {
      const id = randomUUID();
      let settled = false;
      const waiting = producer.client
        .handle(id)
        .result({ timeoutMs: 5_000 })
        .finally(() => (settled = true));
      await subscribed();
      await store(id, { ok: null });
      await publish(id);
      await publish(`${randomUUID()},${id}`);
      // Each bare id makes the wait read the state again; the marker says the task is not settled.
      await expect(producer.client.handle(id).status()).resolves.toMatchObject({ state: 'pending' });
      expect(settled).toBe(false);

      await store(id, { ok: true, value: 'after the retry' });
      await publish(`c:${id}`);
      await expect(waiting).resolves.toBe('after the retry');
    });
  });

  describe('a result() that begins after the task settled', () => {
    it('keyed: answers from the key state when no result is stored', async () => {
      const key = 'k';
      const id = randomUUID();
      const late = () => outcome(producer.client.handle(id, { key }).result({ timeoutMs: 5_000 }));
      const state = (fields: Record<string, string>) => redis.hset(producer.keys.keyState(key), { id, ...fields });

      await state({ state: 'completed', gen: '1' });
      await expect(late()).resolves.toBeUndefined();
      await state({ state: 'failed', error: 'boom' });
      await expect(late()).resolves.toMatchObject({ code: 'TASK_FAILED', message: 'boom' });
      await state({ state: 'cancelled' });
      await expect(late()).resolves.toBeInstanceOf(TaskCancelledError);
      await redis.hset(producer.keys.keyState(key), { id: randomUUID(), state: 'queued', gen: '2' });
      await expect(late()).resolves.toBeInstanceOf(TaskSupersededError);

      // Its own run still queued: it waits for the message. The waits before it each subscribed
      // and unsubscribed the channel: once that is done, the one subscriber counted below is this
      // wait's, not a previous one's whose UNSUBSCRIBE was still to come (a PUBLISH then is lost).
      await state({ state: 'running' });
      await waitFor(async () => (await subscribers()) === 0, { description: 'earlier waits unsubscribed' });
      const waiting = late();
      await subscribed();
      await publish(`c:${id}`);
      await expect(waiting).resolves.toBeUndefined();
    });

    it('keyed, end to end: replace() and cancel() make the older handle reject at once', async () => {
      const first = await producer.client.enqueue('echo', 1, { key: 'r' });
      await producer.client.replace('echo', 2, { key: 'r' });
      await expect(outcome(first.result({ timeoutMs: 5_000 }))).resolves.toBeInstanceOf(TaskSupersededError);

      const third = await producer.client.enqueue('echo', 3, { key: 'c', delayMs: 60_000 });
      await producer.client.cancel('c');
      await expect(outcome(third.result({ timeoutMs: 5_000 }))).resolves.toBeInstanceOf(TaskCancelledError);
    });

    it('unkeyed with its entry id: pending while the entry waits or runs, completed once it is gone', async () => {
      const handle = await producer.client.enqueue('echo', 'x');
      const entryId = (await redis.xrange(producer.keys.stream, '-', '+'))[0][0];
      await expect(handle.status()).resolves.toMatchObject({ state: 'pending' });

      // Delivered, not acked: running.
      await redis.xgroup('CREATE', producer.keys.stream, 'workers', '0');
      await redis.xreadgroup('GROUP', 'workers', 'someone', 'COUNT', 1, 'STREAMS', producer.keys.stream, '>');
      await expect(handle.status()).resolves.toMatchObject({ state: 'pending' });
      const pending = outcome(handle.result({ timeoutMs: 200 }));
      await expect(pending).resolves.toBeInstanceOf(TaskTimeoutError);

      // Acked but not yet trimmed: it completed, and stored nothing (a void unkeyed run).
      await redis.xack(producer.keys.stream, 'workers', entryId);
      await expect(handle.status()).resolves.toMatchObject({ state: 'completed' });
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();

      await redis.xdel(producer.keys.stream, entryId);
      await expect(handle.status()).resolves.toMatchObject({ state: 'completed' });
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();

      // The pending marker of a retry wins over the missing entry.
      await store(handle.id, { ok: null });
      await expect(handle.status()).resolves.toMatchObject({ state: 'pending' });
      await store(handle.id, { ok: false, error: { name: 'Error', message: 'no' } });
      await expect(handle.status()).resolves.toMatchObject({ state: 'failed', error: 'no' });
    });

    it('unkeyed, queued and not yet read by the group: pending', async () => {
      await redis.xgroup('CREATE', producer.keys.stream, 'workers', '$', 'MKSTREAM');
      const handle = await producer.client.enqueue('echo', 'queued');
      await expect(handle.status()).resolves.toMatchObject({ state: 'pending' });
    });
  });

  it('resultTtlMs 0: result() answers from the completion message, and status() says completed', async () => {
    const worker = await startApp({ prefix, probe: new Probe(), options: { resultTtlMs: 0 } });
    const handle = await worker.client.enqueue('echo', 'kept nowhere');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    await expect(handle.status()).resolves.toMatchObject({ state: 'completed' });
  });
});
