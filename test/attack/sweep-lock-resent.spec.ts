import type { Redis } from 'ioredis';
import { SweepLock } from '../../lib/consumer/sweep-lock';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Review finding: the sweep lock is taken with SET NX. When Redis ran it but the reply was lost
 * with its connection, ioredis resent it on the next connection, where NX found the lock (its
 * own) and answered nil: the sweeper took it for another's and skipped the sweep, and nobody
 * released a lock held under a token no one knew, so dead workers' runs waited a whole lease
 * more to be reclaimed. The SET now asks for the value it found (NX GET): its own token is its
 * own lock.
 */
describe('attack: a sweep lock whose SET reply was lost', () => {
  const proxy = new HalfOpenProxy();
  const redis = createRedis();
  let behind: Redis | undefined;
  afterAll(async () => {
    behind?.disconnect();
    await proxy.stop();
    await closeAll();
  });

  it('is taken by the resent SET that finds its own token', async () => {
    const port = await proxy.start();
    behind = createRedis({ host: '127.0.0.1', port }, `redis://127.0.0.1:${port}`);
    defineScripts(behind);
    await behind.ping();
    const keys = new QueueKeys(randomPrefix(), 'default');
    const lock = new SweepLock(behind, keys, 10_000);

    proxy.loseRepliesOfExisting();
    const acquiring = lock.acquire();
    await waitFor(async () => (await redis.get(keys.sweepLock)) !== null, { description: 'the SET ran' });
    // The connection drops (its watchdog would destroy it): ioredis resends the SET on a new one.
    behind.stream.destroy();

    const token = await acquiring;
    expect(token).toBeDefined();
    expect(token).toBe(await redis.get(keys.sweepLock));
    expect(await lock.release(token!)).toBe(true);
  }, 20_000);

  it('is still refused to a sweeper that did not take it', async () => {
    const keys = new QueueKeys(randomPrefix(), 'default');
    const first = new SweepLock(redis, keys, 10_000);
    const second = new SweepLock(redis, keys, 10_000);
    const token = await first.acquire();
    expect(token).toBeDefined();
    expect(await second.acquire()).toBeUndefined();
    expect(await redis.get(keys.sweepLock)).toBe(token);
  });
});
