import { Redis } from 'ioredis';
import { PartitionLayoutError, QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps, rejectionOf } from '../fixtures/hostile-tasks';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * Attack on an ioredis client handed in as `connection`, which the application never closes: it
 * outlives the app, so whatever the app hangs on it must go at close. The result waiter's 'ready'
 * listener stayed, one per app (holding that app's waiter, connections and config): a process
 * that boots apps on one client (a test suite) leaked them, and Node warned of a listener leak at
 * the eleventh. The module's watch for aborted pipelines left a 'close' listener on the client's
 * socket the same way, one per app booted on it. After a failed init, the reply watch kept sending the client a PING every
 * heartbeat, for good (the app is given up on; a PING stuck behind a blocking command of the
 * user's for a lease cut the user's socket).
 */
describe('attack: a client handed in, once the app closed', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(async () => {
    await closeHostileApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it("keeps none of the app's 'ready' listeners, and stays connected", async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await client.ping();
      const before = client.listenerCount('ready');
      for (let boot = 1; boot <= 3; boot++) {
        // Partitions and a periodic task: their watches listen to 'ready' too.
        const app = await buildApp(
          testOptions(prefix, { connection: client, queues: { default: { partitions: 2 } } }),
          {
            imports: [ProbeModule.register(), HourlyTaskModule.register('hourly')],
          },
        );
        await app.init();
        const handle = await app.moduleRef.get(QueueClient).enqueue('echo', boot);
        await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe(boot);
        await app.close();
        expect(client.listenerCount('ready')).toBe(before);
      }
      expect(client.status).toBe('ready');
      await expect(client.ping()).resolves.toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it("keeps none of the workers' listeners on the client", async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await client.ping();
      const listeners = () => client.eventNames().map((name) => `${String(name)}:${client.listenerCount(name)}`);
      const before = listeners();
      for (let boot = 1; boot <= 3; boot++) {
        // A worker that settles a run: the Settler counts the drops of its connection.
        const app = await buildApp(testOptions(prefix, { connection: client }), { imports: [ProbeModule.register()] });
        await app.init();
        const handle = await app.moduleRef.get(QueueClient).enqueue('echo', boot);
        await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe(boot);
        await app.close();
        // The first app's drop counter is the client's own, kept for the next apps.
        if (boot === 1) before.splice(0, before.length, ...listeners());
        expect(listeners()).toEqual(before);
      }
    } finally {
      client.disconnect();
    }
  });

  it("keeps none of the app's listeners on the client's socket", async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await client.ping();
      const socket = client.stream;
      const listeners = () => socket.eventNames().map((name) => `${String(name)}:${socket.listenerCount(name)}`);
      const before = listeners();
      for (let boot = 1; boot <= 3; boot++) {
        const app = await buildApp(testOptions(prefix, { connection: client }), { imports: [ProbeModule.register()] });
        await app.init();
        const handle = await app.moduleRef.get(QueueClient).enqueue('echo', boot);
        await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe(boot);
        await app.close();
        expect(client.stream).toBe(socket);
        expect(listeners()).toEqual(before);
      }
    } finally {
      client.disconnect();
    }
  });

  it("leaves no wrapper of its own on the client: the client's prototype methods answer again", async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await client.ping();
      const own = () => new Set(Object.keys(client));
      const before = own();
      const app = await buildApp(testOptions(prefix, { connection: client }), {
        imports: [ProbeModule.register()],
      });
      await app.init();
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 1);
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe(1);
      await app.close();
      // The scripts the module defined stay (ioredis has no undefine); nothing else it put there.
      const added = [...own()].filter((name) => !before.has(name) && !name.startsWith('sq_'));
      expect(added).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('gets no PING from a failed init', async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      // A record no version writes: the init fails once Redis was reached and checked.
      await redis.set(new QueueKeys(prefix, 'default').layout, 'no-such-layout');
      const app = await buildApp(testOptions(prefix, { connection: client, queues: { default: { partitions: 2 } } }));
      const ping = jest.spyOn(client, 'ping');
      const failed = await rejectionOf(app.init(), 10_000, 'an init refused by the layout record');
      expect(failed).toBeInstanceOf(PartitionLayoutError);
      ping.mockClear();
      // Three heartbeat intervals (leaseMs 3000 / 6).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(ping).not.toHaveBeenCalled();
      expect(client.status).toBe('ready');
    } finally {
      client.disconnect();
    }
  });
});
