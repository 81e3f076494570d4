import { Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { QueueClient, RedisUnreachableError } from '../../lib';
import { buildApp, captureConsole, closeHostileApps, rejectionOf, renderings, within } from '../fixtures/hostile-tasks';
import { ProbeModule } from '../fixtures/probe.module';
import { Probe } from '../fixtures/probe';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { freePort } from '../utils/free-port';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { randomPrefix, waitFor } from '../utils/redis';

/*
 * Booting where Redis is not (yet) there: producers (worker: false) and workers alike retry
 * `retryAttempts` times, `retryDelay` apart, logging each attempt with the address, then fail
 * with a RedisUnreachableError naming it; a Redis that comes up meanwhile is simply used. The
 * address is a free port where nothing listens; the URL carries a password that must never show.
 */

const BOUND_MS = 15_000;
const RETRY = { retryAttempts: 2, retryDelay: 100 };

describe('booting against an address where Redis is not there', () => {
  const password = `secret-${randomUUID()}`;
  let port: number;
  let server: RedisServerHandle | undefined;
  let consoleCapture: ReturnType<typeof captureConsole>;

  const urlOf = (p: number) => `redis://:${password}@127.0.0.1:${p}`;

  beforeEach(async () => {
    port = await freePort();
    consoleCapture = captureConsole();
  });
  afterEach(async () => {
    await closeHostileApps();
    consoleCapture.restore();
    await server?.stop();
    server = undefined;
  });

  it.each([
    ['a producer', false],
    ['a worker', true],
  ])('%s fails after retryAttempts with a RedisUnreachableError naming host:port', async (_label, worker) => {
    const logger = new RecordingLogger();
    const app = await buildApp(testOptions(randomPrefix(), { connection: { url: urlOf(port) }, worker, ...RETRY }), {
      logger,
    });
    const error = await rejectionOf(app.init(), BOUND_MS, 'bootstrap against a dead address');

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE', address: `127.0.0.1:${port}` });
    expect(error.message).toMatch(`Redis at 127.0.0.1:${port} could not be reached after 3 attempts`);
    expect(error.message).toMatch(/ECONNREFUSED/);
    // Every attempt but the last (which the error reports) is logged with the address.
    const attempts = logger.warnings().filter((w) => w.includes(`Redis at 127.0.0.1:${port} is not reachable`));
    expect(attempts).toEqual([
      expect.stringContaining('(attempt 1 of 3): connect ECONNREFUSED'),
      expect.stringContaining('(attempt 2 of 3): connect ECONNREFUSED'),
    ]);
    const printed = [...renderings(error), ...logger.lines.map((l) => l.message), ...consoleCapture.lines];
    expect(printed.filter((line) => line.includes(password))).toEqual([]);
  });

  it('a producer and a worker both boot once Redis comes up during the retries, and a task runs', async () => {
    const probe = new Probe();
    const prefix = randomPrefix();
    // No password here: the harness's readiness check PINGs without one.
    const options = { connection: { url: `redis://127.0.0.1:${port}` }, retryAttempts: 100, retryDelay: 100 };
    // Nest's logger is process-wide (the last app's wins): one logger sees both apps' lines.
    const logger = new RecordingLogger();
    const producer = await buildApp(testOptions(prefix, { ...options, worker: false }), { logger });
    const worker = await buildApp(testOptions(prefix, options), { logger, probe });
    const booted = Promise.all([producer.init(), worker.init()]);
    booted.catch(() => undefined);

    // Both have failed an attempt before Redis starts.
    const count = (text: string) => logger.lines.filter((l) => l.message.includes(text)).length;
    await waitFor(() => count(`Redis at 127.0.0.1:${port} is not reachable (attempt 1 of 101)`) === 2, {
      description: 'a failed first attempt of each app',
    });
    server = await startRedisServer({ port });

    await within(booted, BOUND_MS, 'bootstrap once Redis is up');
    expect(count(`Connected to Redis at 127.0.0.1:${port}.`)).toBe(2);
    expect(count('Consuming "default"')).toBe(1);
    const handle = await producer.moduleRef.get(QueueClient).enqueue('echo', 'after the wait');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('after the wait');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  // Redis answered at module init, then went away before the consumer started: the heartbeat
  // thread's first beat fails, with the same typed error and the connection's own reason.
  it("a worker whose heartbeat thread finds Redis gone fails with the same error, not ioredis's wording", async () => {
    server = await startRedisServer({ port });
    const running = server;

    @Injectable()
    class KillsRedis implements OnApplicationBootstrap {
      // Runs before the consumer starts: the consumer's hook runs after every other one.
      async onApplicationBootstrap(): Promise<void> {
        await running.kill('SIGKILL');
      }
    }
    @Module({ providers: [KillsRedis] })
    class KillsRedisModule {}

    const app = await buildApp(testOptions(randomPrefix(), { connection: { url: running.url }, ...RETRY }), {
      imports: [ProbeModule.register(new Probe()), KillsRedisModule],
    });
    const error = await rejectionOf(app.init(), BOUND_MS, 'bootstrap with Redis killed before the heartbeat');
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE', address: `127.0.0.1:${port}` });
    expect(error.message).toMatch(`Redis at 127.0.0.1:${port} could not be reached by the heartbeat thread`);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).not.toMatch(/max retries per request/);
  });
});
