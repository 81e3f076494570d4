import { randomUUID } from 'node:crypto';
import { TaskCancelledError, TaskTimeoutError } from '../../lib';
import { heldEcho } from '../fixtures/probe';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { doneChannelSubscribers, resultSubscriberOf } from '../fixtures/result-subscriber';
import { startApp } from '../fixtures/test-app';
import { blockEventLoop } from '../utils/block-event-loop';
import { raceTimeout } from '../../lib/race-timeout';
import { waitFor } from '../utils/redis';

const TIMEOUT_MS = 500;

/*
 * A review finding: result({ timeoutMs }) learnt of a task's end only through its subscriber (the
 * SUBSCRIBE's reply starts the read of the task's state; a done message ends the wait). While
 * that connection was not listening, the deadline's timer won against a task settled all along:
 * the first result() of a process, its subscriber still connecting when the caller blocked the
 * loop (several round trips: connect, ready check, SUBSCRIBE, then the read, all after the
 * timer), a subscriber whose new connection is slow to be accepted, and one reconnecting when the
 * settle's message was published (lost). The command connection answered all along.
 */
describe('result(): a task settled in time is found whether or not the subscriber listens', () => {
  const env = usePrivateRedisApps({ proxy: true });

  const app = (options: object, url = env.server.url) =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, connection: { url } } });
  /** A client behind the proxy whose commands fail after one retry (maxRetriesPerRequest 1). */
  const failingFast = () =>
    startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: { maxRetriesPerRequest: 1 } } },
    });

  it("the process's first result(), the caller blocking the loop right after it: a task completed before", async () => {
    const client = await app({ worker: false });
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    // No result() yet in this process: its subscriber is made, and connects, now.
    const result = handle.result({ timeoutMs: TIMEOUT_MS }).catch((error: unknown) => error);
    blockEventLoop(TIMEOUT_MS + 300, { answeredBy: env.server.port });
    expect(await result).toBe('done before');
  });

  it('a subscriber whose connection is not accepted yet: a task completed before the wait', async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    const release = env.proxy.holdNewConnections();
    try {
      expect(await handle.result({ timeoutMs: TIMEOUT_MS })).toBe('done before');
    } finally {
      release();
    }
  });

  it('a subscriber whose connection is not accepted yet: a task that completes during the wait', async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const worker = await app({});
    const { go, value } = heldEcho(env.probe);
    const handle = await client.client.enqueue('echo', 'x');
    const release = env.proxy.holdNewConnections();
    try {
      const deadline = performance.now() + TIMEOUT_MS;
      const result = handle.result({ timeoutMs: TIMEOUT_MS }).catch((error: unknown) => error);
      go.open();
      await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
      expect(performance.now()).toBeLessThan(deadline); // settled in time
      expect(await result).toBe(value);
    } finally {
      release();
    }
  });

  // ioredis fails a command queued while its connection is away after maxRetriesPerRequest
  // attempts (default 20, about 10 s): the SUBSCRIBE of the process's first result() with it.
  it('a subscriber that cannot connect for maxRetriesPerRequest attempts: a task completed before the wait', async () => {
    const client = await failingFast();
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    const accept = env.proxy.refuseNewConnections();
    try {
      expect(await handle.result({ timeoutMs: 2_000 }).catch((error: unknown) => error)).toBe('done before');
    } finally {
      await accept();
    }
  });

  it('the subscriber refused as long, then back: a task that completes during the wait is heard', async () => {
    const client = await failingFast();
    const worker = await app({});
    const { go } = heldEcho(env.probe, 'heard');
    const handle = await client.client.enqueue('echo', 'x');
    const accept = env.proxy.refuseNewConnections();
    const result = handle.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    // The second refused attempt fails the queued SUBSCRIBE; then connections are accepted again.
    const subscriber = resultSubscriberOf(client);
    let refused = 0;
    subscriber.on('close', () => refused++);
    await waitFor(() => refused >= 3, { description: 'three refused attempts' });
    await accept();
    await doneChannelSubscribers(env.admin, client, 1, 'subscribed once the subscriber connected');
    go.open();
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe('heard');
  });

  it('a subscriber cut after it subscribed, reconnecting when the task is cancelled: its message lost', async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const key = `key-${randomUUID()}`;
    const handle = await client.client.enqueue('echo', 'x', { key });
    const deadline = performance.now() + 1_000;
    const result = handle.result({ timeoutMs: 1_000 }).catch((error: unknown) => error);
    await doneChannelSubscribers(env.admin, client, 1, 'result() subscribed');
    const release = env.proxy.holdNewConnections();
    try {
      // This private Redis has one subscriber: result()'s. Its new connection waits at the proxy.
      await env.admin.client('KILL', 'TYPE', 'pubsub');
      await doneChannelSubscribers(env.admin, client, 0, 'the subscriber cut');
      await client.client.cancel(key);
      expect(performance.now()).toBeLessThan(deadline); // settled in time
      expect(await result).toBeInstanceOf(TaskCancelledError);
    } finally {
      release();
    }
  });

  it('result({ timeoutMs: 0 }) of a task settled before: its result, not a timeout', async () => {
    const client = await app({ worker: false });
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    expect(await handle.result({ timeoutMs: 0 })).toBe('done before');
    const key = `key-${randomUUID()}`;
    const cancelled = await client.client.enqueue('echo', 'x', { key, delayMs: 60_000 });
    await client.client.cancel(key);
    await expect(cancelled.result({ timeoutMs: 0 })).rejects.toBeInstanceOf(TaskCancelledError);
  });

  // The controls: a task still pending when the subscriber cannot listen is a timeout.
  it('a subscriber whose connection is not accepted yet: a task still pending is a timeout', async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const handle = await client.client.enqueue('echo', 'never run');
    const release = env.proxy.holdNewConnections();
    try {
      const error = await handle.result({ timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskTimeoutError);
      expect(error).toMatchObject({ message: `No result for task ${handle.id} within ${TIMEOUT_MS} ms.` });
    } finally {
      release();
    }
  });

  it('result({ timeoutMs: 0 }) of a task still pending is a timeout', async () => {
    const client = await app({ worker: false });
    const handle = await client.client.enqueue('echo', 'never run');
    const error = await handle.result({ timeoutMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ message: `No result for task ${handle.id} within 0 ms.` });
  });
});
