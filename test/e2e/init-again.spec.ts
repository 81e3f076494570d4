import { Injectable, Module, type OnApplicationBootstrap, type OnModuleInit, type Type } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { InvalidOptionError, PartitionLayoutError, QueueClient, RedisUnreachableError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { buildApp, closeHostileApps, HostileTaskModule, rejectionOf, within } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { freePort } from '../utils/free-port';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { MonitorConnection } from '../utils/monitor-connection';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/*
 * `init()` again after a failed one: Nest runs every onModuleInit a second time, the explorer's
 * too. The handlers it found the first time must stay registered once, not be reported as a
 * duplicate of themselves; a discovery that failed is run again from the start.
 */

const BOUND_MS = 15_000;

/** A module whose provider's onModuleInit fails the first time (a database not up yet), then passes. */
function failsOnceModule(): Type {
  let calls = 0;
  @Injectable()
  class FailsOnce implements OnModuleInit {
    onModuleInit(): void {
      if (calls++ === 0) throw new Error('not ready the first time');
    }
  }
  @Module({ providers: [FailsOnce] })
  class FailsOnceModule {}
  return FailsOnceModule;
}

describe('init() again after a failed init()', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  let server: RedisServerHandle | undefined;
  let proxy: HalfOpenProxy | undefined;

  afterEach(async () => {
    await closeHostileApps();
    await server?.stop();
    server = undefined;
    await proxy?.stop();
    proxy = undefined;
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('after a user onModuleInit failed, registers each handler once and runs a task once', async () => {
    const probe = new Probe();
    const app = await buildApp(testOptions(prefix), {
      imports: [ProbeModule.register(probe), failsOnceModule()],
    });
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init');
    expect(first.message).toBe('not ready the first time');

    await within(app.init(), BOUND_MS, 'the second init');
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  it('after a user onModuleInit failed, keeps the metrics registered once', async () => {
    const registry = new Registry();
    const app = await buildApp(testOptions(prefix), {
      imports: [ProbeModule.register(), StreamQueueMetricsModule.forRoot({ registry }), failsOnceModule()],
    });
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init');
    expect(first.message).toBe('not ready the first time');

    await within(app.init(), BOUND_MS, 'the second init');
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    // Counted once: a second set of listeners would count each run twice.
    const tasks = await registry.getSingleMetric(METRIC_NAMES.tasks)!.get();
    expect(tasks.values.reduce((sum, v) => sum + v.value, 0)).toBe(1);
  });

  it('after Redis refused the first init, boots once Redis is up and runs a task once', async () => {
    const port = await freePort();
    const probe = new Probe();
    const app = await buildApp(
      testOptions(prefix, {
        connection: { url: `redis://127.0.0.1:${port}` },
        retryAttempts: 0,
      }),
      { probe, imports: [ProbeModule.register(probe)] },
    );
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, nothing listening');
    expect(first).toBeInstanceOf(RedisUnreachableError);
    server = await startRedisServer({ port });

    await within(app.init(), BOUND_MS, 'the second init, Redis up');
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  it('after Redis refused a first init that retried, boots once Redis is up and reconnects after a restart', async () => {
    const port = await freePort();
    const probe = new Probe();
    const app = await buildApp(
      testOptions(prefix, {
        // Retried: when bootstrap gives up, the connection waits between two reconnects, where
        // ioredis's disconnect() leaves it 'reconnecting' for good rather than 'end'.
        connection: { url: `redis://127.0.0.1:${port}`, options: { connectTimeout: 1_000 } },
        retryAttempts: 2,
        retryDelay: 300,
      }),
      { probe, imports: [ProbeModule.register(probe)] },
    );
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, nothing listening');
    expect(first).toBeInstanceOf(RedisUnreachableError);
    server = await startRedisServer({ port });

    await within(app.init(), BOUND_MS, 'the second init, Redis up');
    const client = app.moduleRef.get(QueueClient);
    const handle = await client.enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');

    // The connection given back its strategy reconnects after a drop, as one never refused does.
    await server.restart();
    const again = await within(client.enqueue('echo', 'again'), BOUND_MS, 'an enqueue after a restart');
    await expect(again.result({ timeoutMs: 5_000 })).resolves.toBe('again');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id, again.id]);
  });

  // Review finding: the failed adoption closed the connections for good, so init() again failed
  // with RedisUnreachableError ('the connection was closed') whatever the operator fixed.
  it('after a PartitionLayoutError, boots once the operator fixed the layout record and runs a task once', async () => {
    const layout = new QueueKeys(prefix, 'default').layout;
    await redis.set(layout, 'no-such-layout'); // a record no version writes: refused, nothing to switch from
    const probe = new Probe();
    const app = await buildApp(testOptions(prefix, { queues: { default: { partitions: 2 } } }), {
      probe,
      imports: [ProbeModule.register(probe)],
    });
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, the layout refused');
    expect(first).toBeInstanceOf(PartitionLayoutError);
    await redis.del(layout);

    await within(app.init(), BOUND_MS, 'the second init, the layout fixed');
    await expect(redis.get(layout)).resolves.toBe('2');
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  // Review finding: the second init waited for the end of the command socket the failed one
  // closed (RedisConnections.commandsReady), for good when that socket never ended.
  it('after a PartitionLayoutError whose closed socket never ends, boots once the layout is fixed', async () => {
    // A Redis of its own behind the proxy: a socket to one node, under either test topology.
    server = await startRedisServer({ port: await freePort() });
    const own = new Redis(server.port, { lazyConnect: false });
    try {
      proxy = new HalfOpenProxy({ host: '127.0.0.1', port: server.port });
      const url = `redis://127.0.0.1:${await proxy.start()}`;
      proxy.keepEndedOpen();
      const layout = new QueueKeys(prefix, 'default').layout;
      await own.set(layout, 'no-such-layout');
      const probe = new Probe();
      // ioredis cuts a socket still open 2 s after its disconnect() (disconnectTimeout): longer here,
      // as a user may set it, so that only the library's own bound can end it in time.
      const connection = { url, options: { disconnectTimeout: 60_000 } };
      const app = await buildApp(testOptions(prefix, { connection, queues: { default: { partitions: 2 } } }), {
        probe,
        imports: [ProbeModule.register(probe)],
      });
      const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, the layout refused');
      expect(first).toBeInstanceOf(PartitionLayoutError);
      await own.del(layout);

      await within(app.init(), BOUND_MS, 'the second init, the layout fixed');
      await expect(own.get(layout)).resolves.toBe('2');
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
      expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    } finally {
      own.disconnect();
    }
  });

  // Review finding: each init that Redis refused left the layout step of its onModuleInit waiting
  // for the command connection's 'ready' for good (RedisConnections.commandsReady): init() itself
  // failed, but a listener stayed per attempt, and the first boot that reached Redis ran every
  // one of those steps again beside its own.
  it('after Redis refused init() eleven times, boots once it is up and runs the layout step once', async () => {
    const port = await freePort();
    let monitor: MonitorConnection | undefined;
    try {
      const probe = new Probe();
      const app = await buildApp(
        testOptions(prefix, {
          connection: { url: `redis://127.0.0.1:${port}` },
          retryAttempts: 0,
          queues: { default: { partitions: 2 } },
        }),
        { probe, imports: [ProbeModule.register(probe)] },
      );
      const commands = app.moduleRef.get(RedisConnections, { strict: false }).commands;
      const refusedInit = async (attempt: number) => {
        const refused = await rejectionOf(app.init(), BOUND_MS, `init ${attempt}, nothing listening`);
        expect(refused).toBeInstanceOf(RedisUnreachableError);
      };
      await refusedInit(1);
      const listeners = commands.listenerCount('ready');
      // Past ten: Node warns of a leak (MaxListenersExceededWarning) at the eleventh listener.
      for (let attempt = 2; attempt <= 11; attempt++) await refusedInit(attempt);
      expect(commands.listenerCount('ready')).toBe(listeners);
      server = await startRedisServer({ port });
      monitor = await MonitorConnection.open(server.url);
      const layout = new QueueKeys(prefix, 'default').layout;
      const layoutReads: string[] = [];
      const marker = `${prefix}:after-boot`;
      const sawMarker = new Promise<void>((resolve) =>
        monitor!.on('monitor', (_time: string, args: string[], source: string) => {
          // The step's own GET (layout.lua's reads of the record come from 'lua').
          if (source !== 'lua' && args[0]?.toLowerCase() === 'get' && args[1] === layout) {
            layoutReads.push(args[1]);
          }
          if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolve();
        }),
      );

      await within(app.init(), BOUND_MS, 'the init once Redis is up');
      // Every read the boot (and anything woken with it) sent came before this one.
      const own = new Redis(server.port);
      await own.echo(marker).finally(() => own.disconnect());
      await within(sawMarker, BOUND_MS, 'the marker in MONITOR');
      expect(layoutReads).toHaveLength(1);
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
      expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    } finally {
      monitor?.disconnect();
    }
  });

  // Not a hang: the second init's wait for Redis is bounded by its attempts (connectTimeout each),
  // and the layout step waiting for 'ready' beside it ends with it.
  it('after a PartitionLayoutError, init() again on a frozen Redis fails at its bound, then boots once Redis answers', async () => {
    server = await startRedisServer({ port: await freePort() });
    const own = new Redis(server.port);
    try {
      const layout = new QueueKeys(prefix, 'default').layout;
      await own.set(layout, 'no-such-layout');
      const probe = new Probe();
      const app = await buildApp(
        testOptions(prefix, {
          connection: { url: server.url, options: { connectTimeout: 1_000 } },
          retryAttempts: 0,
          queues: { default: { partitions: 2 } },
        }),
        { probe, imports: [ProbeModule.register(probe)] },
      );
      const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, the layout refused');
      expect(first).toBeInstanceOf(PartitionLayoutError);
      await own.del(layout);

      // Stopped: the kernel still accepts the connection, nothing answers the ready check.
      await server.kill('SIGSTOP');
      const started = performance.now();
      const second = await rejectionOf(app.init(), BOUND_MS, 'the second init, Redis frozen');
      const tookMs = performance.now() - started;
      await server.kill('SIGCONT');
      expect(second).toBeInstanceOf(RedisUnreachableError);
      expect(second.message).toContain('no answer to the ready check within 1000 ms');
      // One attempt of 1 s, after the end of the socket the failed init closed (at most ~4 s).
      expect(tookMs).toBeLessThan(6_000);

      await within(app.init(), BOUND_MS, 'the third init, Redis answering');
      await expect(own.get(layout)).resolves.toBe('2');
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
      expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    } finally {
      own.disconnect();
    }
  });

  // Review finding: consumption that failed to start (Redis gone between the module's check and
  // the first heartbeat) drained the worker for good, so init() again booted without consuming:
  // no error, no warning, and its tasks were never run.
  it('after Redis went away before consumption started, boots once it is up and runs a task once', async () => {
    const port = await freePort();
    server = await startRedisServer({ port });
    let stops = 0;
    @Injectable()
    class StopsRedisOnce implements OnApplicationBootstrap {
      // Runs after the module reached Redis, before consumption starts (placed after every hook).
      async onApplicationBootstrap(): Promise<void> {
        if (stops++ === 0) await server?.stop();
      }
    }
    @Module({ providers: [StopsRedisOnce] })
    class StopsRedisOnceModule {}
    const probe = new Probe();
    const app = await buildApp(
      testOptions(prefix, {
        connection: { url: `redis://127.0.0.1:${port}` },
        retryAttempts: 0,
        // Partitions and a periodic task: their watches (lost layout records, lost chains) are set
        // up before consumption starts.
        queues: { default: { partitions: 2 } },
      }),
      { probe, imports: [ProbeModule.register(probe), HourlyTaskModule.register('hourly'), StopsRedisOnceModule] },
    );
    const commands = app.moduleRef.get(RedisConnections, { strict: false }).commands;
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init, Redis gone before consumption');
    expect(first).toBeInstanceOf(RedisUnreachableError);
    const listeners = commands.listenerCount('ready');
    server = await startRedisServer({ port });

    await within(app.init(), BOUND_MS, 'the second init, Redis up');
    // One watch each, not one per init: the first's would check every layout and chain twice.
    expect(commands.listenerCount('ready')).toBe(listeners);
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  it('after a @Task option error, reports that error again, not the handlers found before it', async () => {
    const app = await buildApp(testOptions(prefix), {
      imports: [ProbeModule.register(), HostileTaskModule.register('job', { maxAttempts: 0 })],
    });
    const first = await rejectionOf(app.init(), BOUND_MS, 'the first init');
    expect(first).toBeInstanceOf(InvalidOptionError);

    const second = await rejectionOf(app.init(), BOUND_MS, 'the second init');
    expect(second).toBeInstanceOf(InvalidOptionError);
    expect(second).toMatchObject({ option: "@Task('job').maxAttempts" });
  });
});
