import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TaskCancelledError, TaskFailedError, TaskTimeoutError } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { heldEcho } from '../fixtures/probe';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { replyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { doneChannelSubscribers, resultSubscriberOf } from '../fixtures/result-subscriber';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { blockAfterWrite, blockEventLoop } from '../utils/block-event-loop';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/** Long enough that a loaded machine reaches the block before the deadline (checked below). */
const TIMEOUT_MS = 1_000;
/** How far past result()'s deadline each block lasts. */
const PAST_DEADLINE_MS = 300;

/*
 * A review finding: result({ timeoutMs }) rejected with TaskTimeoutError when this process's
 * event loop was busy, though the result had come in time. Blocked past the deadline (a big
 * JSON.parse, a GC pause, a CPU-heavy handler), the loop, once free, ran the deadline's expired
 * timer before it read the socket where the answer waited: the done message (and, for a completed
 * or failed task, the read of its stored result that the message starts), or the read of a task
 * that settled before the wait began. Each block below begins right after the command whose
 * answer is awaited was written, before the deadline, and lasts past it and until Redis has
 * answered every client: the answer waits in a socket when the loop frees.
 */
describe('result(): a busy event loop does not turn a result that came in time into a timeout', () => {
  const env = usePrivateRedisApps();

  const app = (options: object) =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, connection: { url: env.server.url } } });
  const commandsOf = (t: TestApp) => t.app.get(RedisConnections).commands;
  const subscribed = (t: TestApp) => doneChannelSubscribers(env.admin, t, 1, 'result() subscribed');

  /**
   * What `wait(TIMEOUT_MS)` settles with (a value or the error), the loop blocked from `blocker`'s
   * write of `marker` (during `act`, or the wait's own) until past the wait's deadline.
   */
  const waitBlocked = async (
    wait: (timeoutMs: number) => Promise<unknown>,
    blocker: Redis,
    marker: string,
    act: () => Promise<unknown> = async () => undefined,
  ) => {
    let deadline = Infinity;
    const blocked = blockAfterWrite(blocker, marker, () => deadline + PAST_DEADLINE_MS - performance.now(), {
      answeredBy: env.server.port,
    });
    deadline = performance.now() + TIMEOUT_MS;
    const result = wait(TIMEOUT_MS).catch((error: unknown) => error);
    await act();
    // A block that began after the deadline would test nothing: the timer had already fired.
    expect(deadline - (await blocked)).toBeGreaterThan(0);
    return result;
  };

  it('a completed task: its done message and the read of its result, while the loop is blocked', async () => {
    const client = await app({ worker: false });
    const worker = await app({});
    const { go, value } = heldEcho(env.probe);
    const handle = await client.client.enqueue('echo', 'x');
    // The worker's settle (it stores `value` and publishes c:<id>) is written, then the loop blocks.
    const result = waitBlocked(
      (timeoutMs) => handle.result({ timeoutMs }),
      commandsOf(worker),
      value,
      async () => {
        await subscribed(client);
        go.open();
      },
    );
    expect(await result).toBe(value);
  });

  it('a task failed for good: its done message and the read of its error, while the loop is blocked', async () => {
    const client = await app({ worker: false });
    const worker = await app({});
    const go = new Latch();
    const reason = `reason-${randomUUID()}`;
    env.probe.on('once', async () => {
      await go.wait();
      throw new Error(reason);
    });
    const handle = await client.client.enqueue('once', 'x');
    const result = waitBlocked(
      (timeoutMs) => handle.result({ timeoutMs }),
      commandsOf(worker),
      reason,
      async () => {
        await subscribed(client);
        go.open();
      },
    );
    const error = await result;
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ message: reason });
  });

  it('a cancelled task: its done message alone, while the loop is blocked', async () => {
    const client = await app({ worker: false });
    const key = `key-${randomUUID()}`;
    const handle = await client.client.enqueue('echo', 'x', { key });
    // This process's own cancel (it names the record of its answer) is written, then the loop
    // blocks: Redis publishes x:<id> meanwhile.
    const result = waitBlocked(
      (timeoutMs) => handle.result({ timeoutMs }),
      commandsOf(client),
      client.keys.cancelCall(''),
      async () => {
        await subscribed(client);
        await client.client.cancel(key);
      },
    );
    expect(await result).toBeInstanceOf(TaskCancelledError);
  });

  it('a task that completed before the wait: the read of its state, while the loop is blocked', async () => {
    const client = await app({ worker: false });
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    // The wait's first read (after it subscribed) holds the task's id: written, then the loop blocks.
    const result = waitBlocked((timeoutMs) => handle.result({ timeoutMs }), commandsOf(client), handle.id);
    expect(await result).toBe('done before');
  });

  // Found by the newest-code review: the caller blocks right after result() (`const p =
  // handle.result(); heavyWork(); await p`). The SUBSCRIBE was written, its reply waited unread
  // past the deadline, and the read of the state that it starts went out only then: the task,
  // settled before the wait began, read as a timeout.
  it('a task that completed before the wait: its SUBSCRIBE answered while the loop is blocked', async () => {
    const client = await app({ worker: false });
    await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    expect(await handle.result({ timeoutMs: 5_000 })).toBe('done before'); // the subscriber is connected
    await doneChannelSubscribers(env.admin, client, 0, 'the first wait unsubscribed');
    const subscriber = resultSubscriberOf(client);
    const result = waitBlocked((timeoutMs) => handle.result({ timeoutMs }), subscriber, client.keys.doneChannel);
    expect(await result).toBe('done before');
  });

  it('a task that did not settle: its SUBSCRIBE answered while the loop is blocked, still a timeout', async () => {
    const client = await app({ worker: false });
    const warm = await client.client.enqueue('echo', 'warm-up');
    await expect(warm.result({ timeoutMs: 50 })).rejects.toBeInstanceOf(TaskTimeoutError); // connects the subscriber
    await doneChannelSubscribers(env.admin, client, 0, 'the first wait unsubscribed');
    const handle = await client.client.enqueue('echo', 'never run');
    const subscriber = resultSubscriberOf(client);
    const error = await waitBlocked((timeoutMs) => handle.result({ timeoutMs }), subscriber, client.keys.doneChannel);
    expect(error).toBeInstanceOf(TaskTimeoutError);
  });

  // A done message heard in time starts one more read (the stored result): that read is let
  // finish past the deadline, but a Redis that never answers it still ends the wait.
  it('a done message heard, the read of the result never answered: still a timeout', async () => {
    const proxy = await replyCuttingProxy(env.server.url);
    try {
      const client = await startApp({
        prefix: env.prefix,
        probe: env.probe,
        options: { worker: false, connection: { url: proxy.url } },
      });
      const handle = await client.client.enqueue('echo', 'x');
      const result = handle.result({ timeoutMs: 200 }).catch((error: unknown) => error);
      await subscribed(client);
      // The read's reply is lost with its connection, and the resend waits on a held connection.
      const cut = proxy.cutReplyTo(client.keys.result(handle.id));
      const release = proxy.holdNewConnections();
      try {
        await env.admin.publish(client.keys.doneChannel, `c:${handle.id}`);
        await cut;
        const error = await result;
        expect(error).toBeInstanceOf(TaskTimeoutError);
        expect(error).toMatchObject({ message: `No result for task ${handle.id} within 200 ms.` });
      } finally {
        release();
      }
    } finally {
      await closeApps();
      await proxy.close();
    }
  });

  // The control: what did not come in time is still a timeout, blocked or not.
  it('a task that did not settle is still a timeout after a block past the deadline', async () => {
    const client = await app({ worker: false });
    const handle = await client.client.enqueue('echo', 'never run');
    const result = handle.result({ timeoutMs: 200 }).catch((error: unknown) => error);
    await subscribed(client);
    blockEventLoop(400, { answeredBy: env.server.port });
    const error = await result;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ message: `No result for task ${handle.id} within 200 ms.` });
  });
});
