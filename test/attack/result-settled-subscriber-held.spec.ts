import { randomUUID } from 'node:crypto';
import { TaskCancelledError, type TaskHandle } from '../../lib';
import { raceTimeout } from '../../lib/race-timeout';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

/*
 * A review finding: result() read a task's state only once its SUBSCRIBE was answered (or at its
 * timeout). A process whose results subscriber could not connect yet (its first result(), the
 * connection not accepted: a proxy, a Redis at maxclients) left result() of a task settled long
 * before waiting on that connection, though the command connection answered all along: until
 * the timeout (30 s by default), and with `timeoutMs: Infinity` until the subscriber connected
 * or ioredis gave the SUBSCRIBE up (maxRetriesPerRequest attempts; never with null). Now a wait
 * that starts while its subscriber is not ready reads the task's state at once too: a task
 * settled before the wait answers from the command connection; the read after the SUBSCRIBE
 * still covers a settle in between.
 */
describe('result(): a task settled before the wait, its subscriber not accepted yet', () => {
  const env = usePrivateRedisApps({ proxy: true });

  const app = (options: object, url = env.server.url) =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, connection: { url } } });

  /** What result(`options`) of `handle` settles with within 3 s, new connections held meanwhile. */
  const resultWhileHeld = async (handle: TaskHandle<unknown>, options: { timeoutMs?: number }) => {
    const release = env.proxy.holdNewConnections();
    try {
      const result = handle.result(options).catch((error: unknown) => error);
      return await raceTimeout(result, 3_000, () => 'still waiting');
    } finally {
      release();
    }
  };

  /** A task completed, by a worker of its own, before its client waits for it. */
  const completedBefore = async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const worker = await app({});
    const handle = await client.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    return handle;
  };

  it('timeoutMs Infinity: its value, while the subscriber still waits to connect', async () => {
    expect(await resultWhileHeld(await completedBefore(), { timeoutMs: Infinity })).toBe('done before');
  });

  it('the default timeout: answered at once, not at the timeout', async () => {
    expect(await resultWhileHeld(await completedBefore(), {})).toBe('done before');
  });

  it('a keyed task cancelled before the wait: TaskCancelledError, while the subscriber waits to connect', async () => {
    const client = await app({ worker: false }, env.proxy.url);
    const key = `key-${randomUUID()}`;
    const handle = await client.client.enqueue('echo', 'x', { key, delayMs: 60_000 });
    expect(await client.client.cancel(key)).toBe(true);
    expect(await resultWhileHeld(handle, { timeoutMs: Infinity })).toBeInstanceOf(TaskCancelledError);
  });
});
