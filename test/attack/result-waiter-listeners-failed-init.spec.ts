import { Redis } from 'ioredis';
import { PartitionLayoutError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps, rejectionOf } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/*
 * Attack on an ioredis client handed in as `connection`, which outlives the app: the result
 * waiter hung its 'ready' and (since f14ca60) 'end' listeners on it in its constructor, and took
 * them off only in onApplicationShutdown, which Nest never runs after a failed init. Each app
 * given up on after one (a process that retries its boot on one client) left two listeners, each
 * holding that app's waiter, connections and config, and Node warned of a listener leak at the
 * eleventh. They are hung only while a wait is in progress.
 */
describe('attack: a client handed in, after failed inits', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(async () => {
    await closeHostileApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it("keeps none of the result waiter's listeners", async () => {
    const client = new Redis(redisUrl());
    try {
      await client.ping();
      // A record no version writes: the init fails once Redis was reached and checked.
      await redis.set(new QueueKeys(prefix, 'default').layout, 'no-such-layout');
      const before = { ready: client.listenerCount('ready'), end: client.listenerCount('end') };
      for (let boot = 1; boot <= 3; boot++) {
        const app = await buildApp(
          testOptions(prefix, { connection: client, worker: false, queues: { default: { partitions: 2 } } }),
        );
        const failed = await rejectionOf(app.init(), 10_000, 'an init refused by the layout record');
        expect(failed).toBeInstanceOf(PartitionLayoutError);
        expect({ ready: client.listenerCount('ready'), end: client.listenerCount('end') }).toEqual(before);
      }
    } finally {
      client.disconnect();
    }
  });
});
