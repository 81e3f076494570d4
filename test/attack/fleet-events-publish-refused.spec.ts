import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { closeApps, logger, startApp } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, waitFor } from '../utils/redis';

/**
 * A worker whose Redis user may not PUBLISH on the queue's events channel (an ACL granting the
 * queue's keys and its other channels, as the dashboard's attack spec has it) dropped every
 * event quietly: the subscribers elsewhere heard nothing, and no log anywhere said why. A
 * subscriber cannot learn of another process's refusal, so the worker says it: a warning naming
 * the channel and Redis's refusal, at the first and then at most every REFUSED_WARN_MS.
 */
describe('attack: fleet events of a worker whose ACL refuses the events channel', () => {
  const prefix = `evp-${randomUUID().slice(0, 8)}`;
  const user = 'no-events-channel';
  const password = `acl-secret-${randomUUID()}`;
  let server: RedisServerHandle;
  let admin: Redis;
  let subscription: Subscription | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      user,
      'reset',
      'on',
      `>${password}`,
      `~{${prefix}:*`,
      'resetchannels',
      `&{${prefix}:*}:done`,
      `&{${prefix}:*}:control`,
      '+@all',
    );
  });
  afterAll(async () => {
    subscription?.unsubscribe();
    await closeApps();
    await closeAll();
    await server.stop();
  });

  it('warns, naming the channel and the refusal', async () => {
    const watcher = await startApp({ prefix, options: { worker: false, connection: { url: server.url } } });
    const received: FleetEvent[] = [];
    subscription = watcher.client.events().subscribe((e) => received.push(e));
    await waitFor(async () => (await admin.exists(watcher.keys.eventsWatch)) === 1, { description: 'the watch' });
    const warned = logger.lines.length;
    await startApp({
      prefix,
      options: { connection: { url: `redis://${user}:${password}@127.0.0.1:${server.port}` } },
    });
    const handle = await watcher.client.enqueue('echo', 'refused');
    await handle.result();
    await waitFor(
      () =>
        logger.lines
          .slice(warned)
          .some((l) => l.message.includes(watcher.keys.eventsChannel) && l.message.includes('NOPERM')),
      { description: 'the warning', timeoutMs: 3_000 },
    );
    expect(received).toEqual([]);
  });
});
