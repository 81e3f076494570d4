import { QueueClient, RedisUnreachableError } from '../../lib';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix, redisUrl } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

const BOUND_MS = 15_000;

/*
 * Review finding: bootstrap bounds each attempt, and the command check, by the connection's
 * connectTimeout, taken as it was given. ioredis sets no timer for 0 (no connect timeout) and
 * truncates one past Node's longest delay; the module waited 0 ms (a Redis never answers that
 * fast: every boot failed, with lazyConnect at COMMAND INFO since the check got that bound), or
 * fired at once (Node runs a timer past 2^31 - 1 ms after 1 ms).
 */
describe('attack: a connectTimeout ioredis reads as none, or past a timer', () => {
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await closeHostileApps();
    await server?.kill('SIGCONT');
    await server?.stop();
    server = undefined;
  });

  it.each([
    ['0', { connectTimeout: 0 }],
    ['0 with lazyConnect', { connectTimeout: 0, lazyConnect: true }],
    ['2^31 ms', { connectTimeout: 2 ** 31 }],
  ])('connectTimeout %s: boots and runs a task once', async (_, options) => {
    const probe = new Probe();
    const app = await buildApp(
      testOptions(randomPrefix(), { connection: { url: redisUrl(), options }, retryAttempts: 0 }),
      { probe, imports: [ProbeModule.register(probe)] },
    );
    await within(app.init(), BOUND_MS, 'the init');
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });

  it('connectTimeout 0 on a frozen Redis: fails at ioredis default 10 s, not never', async () => {
    server = await startRedisServer();
    await server.kill('SIGSTOP');
    const app = await buildApp(
      testOptions(randomPrefix(), {
        connection: { url: server.url, options: { connectTimeout: 0 } },
        retryAttempts: 0,
      }),
    );
    const error = await rejectionOf(app.init(), BOUND_MS, 'the init, Redis frozen');
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(error.message).toContain('no answer to the ready check within 10000 ms');
  }, 30_000);
});
