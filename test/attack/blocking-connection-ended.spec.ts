import type Redis from 'ioredis';
import { QueueClient } from '../../lib';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * The blocking read's connection alone ends for good: it was cut, and its retryStrategy gave up
 * before Redis took it back (here: a password changed meanwhile, so its reconnects were refused),
 * while the command connection stayed up. On one Redis the blocking connection was made once and
 * never again: every read after it failed with "Connection is closed", so the worker, whose lease
 * and settles were fine, read nothing for good.
 */
describe('attack: a worker whose blocking connection ended for good', () => {
  let server: RedisServerHandle;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    await admin.config('SET', 'requirepass', 'first'); // this connection stays authenticated
  });
  afterEach(closeHostileApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it('reads again on a new blocking connection', async () => {
    const app = await buildApp(
      testOptions(randomPrefix(), {
        connection: {
          url: `redis://:first@127.0.0.1:${server.port}`,
          options: { retryStrategy: (times) => (times > 2 ? null : 50) },
        },
      }),
    );
    await app.init();
    const client = app.moduleRef.get(QueueClient);
    await expect((await client.enqueue('echo', 'before')).result({ timeoutMs: 5_000 })).resolves.toBe('before');

    const blocked = async () =>
      ((await admin.client('LIST')) as string)
        .split('\n')
        .filter((line) => / cmd=xreadgroup /.test(line) && / flags=b /.test(line))
        .map((line) => /\bid=(\d+)/.exec(line)![1]);
    const [id] = await waitFor(
      async () => {
        const ids = await blocked();
        return ids.length === 1 ? ids : undefined;
      },
      { description: 'the blocking read' },
    );
    await admin.config('SET', 'requirepass', 'second');
    await admin.client('KILL', 'ID', id);
    await new Promise((r) => setTimeout(r, 1_000)); // its reconnects refused until it gives up
    await admin.config('SET', 'requirepass', 'first');

    await expect((await client.enqueue('echo', 'after')).result({ timeoutMs: 5_000 })).resolves.toBe('after');
  }, 30_000);
});
