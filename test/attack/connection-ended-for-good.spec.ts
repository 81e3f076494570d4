import type Redis from 'ioredis';
import { QueueClient } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { Latch } from '../utils/helpers';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * A retryStrategy that gives up (returns null after some attempts, an ioredis pattern) ends the
 * module's connections for good when Redis is away longer than it allows. The heartbeat thread
 * reconnects on ioredis's own schedule (functions cannot reach it), so once Redis is back that
 * worker renewed its liveness key for ever while it could neither settle nor read: its runs
 * stayed pending under a live owner, and no other worker could take them over.
 */
describe('attack: a worker whose connections ended for good', () => {
  let server: RedisServerHandle;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    admin = createRedis({}, server.url);
  });
  afterEach(closeHostileApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it('gives its lease up, so another worker takes its run over once Redis is back', async () => {
    const prefix = randomPrefix();
    const keys = new QueueKeys(prefix, 'default');
    const lease = { leaseMs: 1_000, heartbeatIntervalMs: 200 };
    const first = await buildApp(
      testOptions(prefix, {
        connection: { url: server.url, options: { retryStrategy: (times) => (times > 2 ? null : 50) } },
        ...lease,
      }),
    );
    await first.init();
    const gate = new Latch();
    first.probe.on('echo', async (payload) => {
      await gate.wait();
      return payload;
    });
    const handle = await first.moduleRef.get(QueueClient).enqueue('echo', 'taken over');
    await waitFor(() => first.probe.runs.length === 1, { description: 'the run started' });

    await server.kill('SIGKILL');
    const commands = first.moduleRef.get(RedisConnections).commands;
    await waitFor(() => commands.status === 'end', { timeoutMs: 10_000, description: 'the connection ended' });
    await server.restart();
    gate.open();

    const second = await buildApp(testOptions(prefix, { connection: { url: server.url }, ...lease }));
    await second.init();
    await waitFor(async () => (await admin.exists(keys.result(handle.id))) === 1, {
      timeoutMs: 10_000,
      description: 'the run taken over and completed by the second worker',
    });
    expect(second.probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  }, 40_000);
});
