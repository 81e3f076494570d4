import { periodicKey, ReplicationTimeoutError } from '../../lib';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

const TASK = 'attack.durable-periodic';
const KEY = periodicKey(TASK);

const PeriodicModule = HourlyTaskModule.register(TASK);

/**
 * replace() on a @Task chain's periodic key with `durability` resolved without waiting for any
 * replica: it goes by schedule-periodic.lua, and no WAIT followed it, so a caller who asked that
 * the new run survive a failover was told it had when no replica had it (only the module's
 * default was said to be ignored there). On a server without replicas, WAIT 1 answers 0: the call
 * must throw ReplicationTimeoutError naming the run it wrote, as every other enqueue does.
 */
describe('attack: durability on a periodic key replace()', () => {
  let server: RedisServerHandle;
  let producer: TestApp;
  const durability = { replicas: 1, timeoutMs: 50 };

  beforeAll(async () => {
    server = await startRedisServer(); // a server of its own: it has no replica, whatever the suite's has
  });
  beforeEach(async () => {
    producer = await startApp({
      prefix: randomPrefix(),
      imports: [PeriodicModule],
      options: { worker: false, connection: { url: server.url } },
    });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it('waits for the replicas asked, and throws ReplicationTimeoutError naming the run written', async () => {
    const error = await producer.client.replace(TASK, 'replaced', { key: KEY, durability }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReplicationTimeoutError);
    const timeout = error as ReplicationTimeoutError;
    expect(timeout.acknowledged).toBe(0);
    // The run is written (WAIT only reports): the key state names it.
    const redis = createRedis({}, server.url);
    expect(await redis.hget(producer.keys.keyState(KEY), 'id')).toBe(timeout.taskId);
    expect((await producer.client.status(KEY))?.id).toBe(timeout.taskId);
  });

  it('the module default applies there too', async () => {
    await producer.close();
    producer = await startApp({
      prefix: randomPrefix(),
      imports: [PeriodicModule],
      options: { worker: false, connection: { url: server.url }, durability },
    });
    await expect(producer.client.replace(TASK, 'replaced', { key: KEY })).rejects.toBeInstanceOf(
      ReplicationTimeoutError,
    );
  });
});
