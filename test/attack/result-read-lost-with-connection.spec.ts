import type { Socket } from 'node:net';
import { raceTimeout } from '../../lib/race-timeout';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { heldEcho } from '../fixtures/probe';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { doneChannelSubscribers } from '../fixtures/result-subscriber';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

/*
 * Attack on "a lost connection does not end a result() wait": a subscription lost with its
 * connection was made again and the wait went on, but a READ lost with the command connection
 * (the read of the stored result a completion message starts, or the task's state read) ended
 * the wait at once with ioredis's MaxRetriesPerRequestError: no StreamQueueError, no timeout
 * reached, and the task had completed. A blip of the command connection alone (the subscriber
 * stayed up and heard the completion) was enough.
 */
describe('result(): a read lost with the command connection', () => {
  const env = usePrivateRedisApps({ proxy: true });

  it('does not end the wait: it reads again once the connection is back', async () => {
    const producer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: { maxRetriesPerRequest: 1 } } },
    });
    const consumer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { connection: { url: env.server.url } },
    });
    const { go, value } = heldEcho(env.probe);
    const handle = await producer.client.enqueue('echo', 'x');
    const result = handle.result({ timeoutMs: 30_000 }).catch((error: unknown) => error);
    await doneChannelSubscribers(env.admin, producer, 1, 'result() subscribed');
    await waitFor(() => env.probe.runsOf('echo').length === 1, { description: 'the handler running' });

    // The command connection alone is cut and cannot come back; the subscriber stays.
    const commands = producer.app.get(RedisConnections).commands;
    let failedAttempts = 0;
    commands.on('reconnecting', () => failedAttempts++);
    const accept = env.proxy.refuseNewConnections();
    env.proxy.cutClient((commands.stream as Socket).localPort!);
    await waitFor(() => commands.status === 'reconnecting', { description: 'the command connection reconnecting' });

    // The task completes; the subscriber hears it, and its read of the result waits for the
    // command connection, which gives it up after maxRetriesPerRequest more attempts.
    go.open();
    await waitFor(() => consumer.events.counters().completed === 1, { description: 'completed' });
    const before = failedAttempts;
    await waitFor(() => failedAttempts >= before + 3, { description: 'the queued read given up' });

    await accept();
    await waitFor(() => commands.status === 'ready', { description: 'the command connection back' });
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe(value);
  });

  it('called while the command connection is down, reads the settled task once it is back', async () => {
    const producer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: { maxRetriesPerRequest: 1 } } },
    });
    const consumer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { connection: { url: env.server.url } },
    });
    env.probe.on('echo', (payload) => payload);
    const handle = await producer.client.enqueue('echo', 'done before');
    await waitFor(() => consumer.events.counters().completed === 1, { description: 'completed' });
    // A first wait made the subscriber, which stays while the command connection alone is cut.
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('done before');

    const commands = producer.app.get(RedisConnections).commands;
    let failedAttempts = 0;
    commands.on('reconnecting', () => failedAttempts++);
    const accept = env.proxy.refuseNewConnections();
    env.proxy.cutClient((commands.stream as Socket).localPort!);
    await waitFor(() => commands.status === 'reconnecting', { description: 'the command connection reconnecting' });
    const result = handle.result({ timeoutMs: 30_000 }).catch((error: unknown) => error);
    const before = failedAttempts;
    await waitFor(() => failedAttempts >= before + 3, { description: 'the queued read given up' });

    await accept();
    await waitFor(() => commands.status === 'ready', { description: 'the command connection back' });
    expect(await raceTimeout(result, 5_000, () => 'not heard')).toBe('done before');
  });
});
