import type { Socket } from 'node:net';
import { RedisUnreachableError } from '../../lib';
import { raceTimeout } from '../../lib/race-timeout';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { heldEcho } from '../fixtures/probe';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { doneChannelSubscribers } from '../fixtures/result-subscriber';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

/*
 * Attack on "a wait ends": a wait with no timeout whose state read was lost with the command
 * connection (ioredis gave it up) reads again once that connection is ready. A connection that
 * ended for good instead (its retryStrategy gave up, or it was closed under the application)
 * is never ready again: the wait lasted until app.close(), and one whose read had been answered
 * (pending) could end only by a completion, whose read of the stored result then failed with
 * ioredis's bare "Connection is closed.".
 */
describe('result(): the command connection ended for good', () => {
  const env = usePrivateRedisApps({ proxy: true });

  it('ends the waits in progress with RedisUnreachableError, and refuses new ones', async () => {
    let giveUp = false;
    const producer = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: {
        worker: false,
        connection: {
          url: env.proxy.url,
          options: { maxRetriesPerRequest: 1, retryStrategy: () => (giveUp ? null : 50) },
        },
      },
    });
    await startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: env.server.url } } });
    heldEcho(env.probe);
    const first = await producer.client.enqueue('echo', 'first');
    const second = await producer.client.enqueue('echo', 'second');
    // Its state read answered (pending): only a completion, or the end, can settle it.
    const answered = first.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    await doneChannelSubscribers(env.admin, producer, 1, 'result() subscribed');

    // The command connection alone is cut and cannot come back; the subscriber stays.
    const commands = producer.app.get(RedisConnections).commands;
    let failedAttempts = 0;
    commands.on('reconnecting', () => failedAttempts++);
    env.proxy.refuseNewConnections();
    env.proxy.cutClient((commands.stream as Socket).localPort!);
    await waitFor(() => commands.status === 'reconnecting', { description: 'the command connection reconnecting' });
    // Its state read is queued, then given up after maxRetriesPerRequest more attempts.
    const lost = second.result({ timeoutMs: Infinity }).catch((error: unknown) => error);
    const before = failedAttempts;
    await waitFor(() => failedAttempts >= before + 3, { description: 'the queued read given up' });

    giveUp = true;
    await waitFor(() => commands.status === 'end', { description: 'the command connection ended for good' });
    for (const wait of [answered, lost]) {
      const error = await raceTimeout(wait, 2_000, () => 'still waiting');
      expect(error).toBeInstanceOf(RedisUnreachableError);
      expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE', message: expect.stringContaining('ended') });
    }
    const later = await raceTimeout(
      first.result({ timeoutMs: Infinity }).catch((error: unknown) => error),
      2_000,
      () => 'still waiting',
    );
    expect(later).toBeInstanceOf(RedisUnreachableError);
  });
});
