import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { InvalidOptionError } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import type { PauseWatch } from '../../lib/consumer/pause-watch';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { Latch } from '../utils/helpers';
import { echoBlockedBy } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

describe('nest-stream-queue/terminus: StreamQueueHealthIndicator', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;
  let indicator: StreamQueueHealthIndicator;

  const start = async (options = {}, url?: string) => {
    t = await startApp({
      prefix,
      options: { ...options, ...(url ? { connection: { url } } : {}) },
      imports: [StreamQueueHealthModule, TerminusModule],
    });
    indicator = t.app.get(StreamQueueHealthIndicator);
  };

  /** This worker's XREADGROUP blocked in Redis (the suite runs in band: no other app is open). */
  const blockedReads = async () =>
    ((await redis.client('LIST')) as string)
      .split('\n')
      .some((line) => / cmd=xreadgroup /.test(line) && / flags=b /.test(line));

  beforeEach(() => cleanupPrefix(redis, prefix));
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('is up when Redis answers, the lease is held and every queue has a running consumer', async () => {
    await start();
    expect(await indicator.isHealthy('queue')).toEqual({
      queue: { status: 'up', redis: 'up', lease: 'held', consumers: { default: true } },
    });
  });

  it("is down when a queue's oldest waiting task is older than the threshold, up under a looser one", async () => {
    await start({ concurrency: 1 });
    const gate = new Latch();
    t.probe.on('echo', echoBlockedBy(gate));
    try {
      await t.client.enqueue('echo', 'block');
      await waitFor(async () => (await t.client.counts()).running === 1, { description: 'the blocking run' });
      await t.client.enqueue('echo', 'waits');
      await waitFor(async () => ((await t.client.counts()).oldestWaitingMs ?? 0) > 0, { description: 'an age' });
      const strict = await indicator.isHealthy('queue', { queue: 'default', maxWaitingMs: 0 });
      expect(strict.queue.status).toBe('down');
      expect(strict.queue.message).toMatch(/queue "default"'s oldest waiting task is \d+ ms old \(limit 0 ms\)/);
      const loose = await indicator.isHealthy('queue', { queue: 'default', maxWaitingMs: 3_600_000 });
      expect(loose.queue.status).toBe('up');
    } finally {
      gate.open();
    }
  });

  // A pause held the queue's tasks waiting, so the age limit turned every worker's check down:
  // an orchestrator restarted a healthy fleet because an operator paused a queue (a review
  // finding; it failed).
  it('a paused queue is not down for its waiting age: the limit applies again on resume', async () => {
    await start();
    await t.client.pause('default');
    // The enqueue must find no read that could take it: a read already blocking when the pause
    // landed would deliver the task, held before its handler (pending, so never waiting), and
    // the queue would show no waiting age at all (CI on Node 22 read it so once).
    const { pauseWatch } = t.app.get(ConsumerHost) as unknown as { pauseWatch: PauseWatch };
    await waitFor(() => pauseWatch.gate('default').isPaused, { description: 'the worker heard the pause' });
    await waitFor(async () => !(await blockedReads()), { description: 'no blocking read left' });
    await t.client.enqueue('echo', 'waits');
    await waitFor(async () => ((await t.client.counts()).oldestWaitingMs ?? 0) > 0, { description: 'an age' });
    const paused = await indicator.isHealthy('queue', { queue: 'default', maxWaitingMs: 0 });
    expect(paused.queue).toMatchObject({ status: 'up', paused: true });
    expect(paused.queue.oldestWaitingMs).toBeGreaterThan(0);
    await t.client.resume('default');
    await waitFor(async () => (await t.client.counts()).oldestWaitingMs === null, { description: 'the run' });
    expect((await indicator.isHealthy('queue', { queue: 'default', maxWaitingMs: 0 })).queue.status).toBe('up');
  });

  it('is down once the consumers stopped and the lease was given up', async () => {
    await start();
    await t.app.get(ConsumerHost).drain();
    const result = await indicator.isHealthy('queue');
    expect(result.queue).toMatchObject({ status: 'down', lease: 'lost', consumers: { default: false } });
    expect(result.queue.message).toContain('consumers not running: default');
  });

  // "Running" meant only that the pipeline was subscribed: a read loop failing on every try (its
  // stream turned into a string; an ACL that refuses XREADGROUP) consumed nothing while the check
  // said up (a review finding; it failed).
  it("is down when a queue's reads have failed for 5 s on end, up again once they succeed", async () => {
    await start();
    await redis.del(t.keys.stream);
    await redis.set(t.keys.stream, 'not a stream');
    await waitFor(
      async () => {
        const result = await indicator.isHealthy('queue');
        return result.queue.status === 'down';
      },
      { description: 'the check down', timeoutMs: 10_000 },
    );
    const down = await indicator.isHealthy('queue');
    expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
    expect(down.queue.message).toMatch(/^reads of queue "default" failing for \d+ ms: WRONGTYPE/);
    await redis.del(t.keys.stream);
    await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
      description: 'the check up again',

      timeoutMs: 10_000,
    });
    expect(await (await t.client.enqueue('echo', 1)).result()).toBe(1);
  }, 30_000);

  // Only the command connection was looked at: a blocking connection that could not reconnect
  // (Redis at maxclients) held the queue's read unsent, nothing was consumed, and the check said
  // up (a review finding; it failed).
  it("is down while the worker's blocking connection cannot reconnect, though PING answers", async () => {
    let server: RedisServerHandle | undefined;
    try {
      server = await startRedisServer();
      await start({}, server.url);
      const direct = createRedis({}, server.url);
      const blockingId = async () =>
        ((await direct.client('LIST')) as string)
          .split('\n')
          .find((line) => / cmd=xreadgroup/.test(line))
          ?.match(/^id=(\d+)/)?.[1];
      await waitFor(async () => (await blockingId()) !== undefined, { description: 'the blocking read' });
      const clients = ((await direct.client('LIST')) as string).trim().split('\n').length;
      await direct.config('SET', 'maxclients', String(clients));
      await direct.client('KILL', 'ID', (await blockingId())!);
      await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'down', {
        description: 'the check down',
      });
      const down = await indicator.isHealthy('queue');
      expect(down.queue).toMatchObject({ redis: 'up', lease: 'held', consumers: { default: true } });
      expect(down.queue.message).toMatch(/Redis connection \(blocking reads\) is (reconnecting|connecting|connect)/);
      await direct.config('SET', 'maxclients', '10000');
      await waitFor(async () => (await indicator.isHealthy('queue')).queue.status === 'up', {
        description: 'the check up again',
        timeoutMs: 10_000,
      });
    } finally {
      await closeApps();
      await server?.stop();
    }
  }, 30_000);

  it('through HealthCheckService: a down check answers 503 with the details', async () => {
    await start();
    await t.app.get(ConsumerHost).drain();
    const health = t.app.get(HealthCheckService);
    const error = (await health.check([() => indicator.isHealthy('queue')]).catch((e: unknown) => e)) as
      ServiceUnavailableException | undefined;
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(error!.getResponse()).toMatchObject({ status: 'error', error: { queue: { status: 'down' } } });
  });

  it('a producer-only process checks Redis alone', async () => {
    await start({ worker: false });
    expect(await indicator.isHealthy()).toEqual({ 'stream-queue': { status: 'up', redis: 'up' } });
  });

  it('is down when Redis does not answer in time (a frozen server)', async () => {
    let server: RedisServerHandle | undefined;
    try {
      server = await startRedisServer();
      await start({ worker: false }, server.url);
      await server.kill('SIGSTOP');
      const result = await indicator.isHealthy('queue', { timeoutMs: 200 });
      expect(result.queue).toMatchObject({ status: 'down', redis: 'no answer within 200 ms' });
      await server.kill('SIGCONT');
    } finally {
      await closeApps();
      await server?.stop();
    }
  });

  // The queue's read went unbounded after a timely PING: the check waited out the whole pause (a
  // review finding; it failed), so a health endpoint hung as long as Redis did.
  it("is down within timeoutMs when Redis answers PING but not the queue's read", async () => {
    let server: RedisServerHandle | undefined;
    try {
      server = await startRedisServer();
      await start({ worker: false }, server.url);
      const direct = createRedis({}, server.url);
      // Reads and PING go on; every script waits (Redis cannot tell it writes nothing).
      await direct.client('PAUSE', 5_000, 'WRITE');
      const began = Date.now();
      const result = await indicator.isHealthy('queue', { queue: 'default', maxWaitingMs: 1_000, timeoutMs: 300 });
      expect(Date.now() - began).toBeLessThan(1_500);
      expect(result.queue).toMatchObject({
        status: 'down',
        redis: 'no answer within 300 ms (reading queue "default")',
        message: expect.stringMatching(/^Redis: no answer within 300 ms/),
      });
      await direct.client('UNPAUSE');
    } finally {
      await closeApps();
      await server?.stop();
    }
  });

  it.each([
    [{ queue: 'default' }, 'maxWaitingMs'],
    [{ queue: 'bad queue', maxWaitingMs: 1 }, 'queue'],
    [{ queue: 'default', maxWaitingMs: -1 }, 'maxWaitingMs'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    // Past the longest Node timer it fired after 1 ms: always down (a review finding; it failed).
    [{ timeoutMs: 2 ** 31 }, 'timeoutMs'],
  ])('rejects bad options, naming the option (%#)', async (options, option) => {
    await start({ worker: false });
    const error = (await indicator.isHealthy('q', options).catch((e: unknown) => e)) as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.option).toBe(option);
  });
});
