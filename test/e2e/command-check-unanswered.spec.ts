import { Redis } from 'ioredis';
import { QueueClient, RedisUnreachableError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { testOptions } from '../fixtures/test-app';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

const BOUND_MS = 15_000;
const CONNECT_TIMEOUT_MS = 1_000;

/*
 * Review finding: bootstrap's command check (COMMAND INFO) ran after the ready check with no bound,
 * and the reply watchdog only starts after it: a Redis that stopped answering in between (frozen,
 * or a connection gone half-open) held init() for good.
 */
describe('a Redis that answers the ready check, not the command check', () => {
  let server: RedisServerHandle;
  let proxy: HalfOpenProxy;
  beforeEach(async () => {
    // A Redis of its own behind the proxy: one node under either test topology.
    server = await startRedisServer();
    proxy = new HalfOpenProxy({ host: '127.0.0.1', port: server.port });
  });
  afterEach(async () => {
    await closeHostileApps();
    await proxy.stop();
    await server.stop();
  });

  it('fails init() at connectTimeout with RedisUnreachableError naming COMMAND INFO, then boots again', async () => {
    const url = `redis://127.0.0.1:${await proxy.start()}`;
    // Only COMMAND INFO names it at boot (the commands it checks): from it on, replies are lost.
    proxy.loseRepliesFromCommandWith('xreadgroup');
    const probe = new Probe();
    const prefix = randomPrefix();
    const app = await buildApp(
      testOptions(prefix, {
        connection: { url, options: { connectTimeout: CONNECT_TIMEOUT_MS } },
        retryAttempts: 0,
        queues: { default: { partitions: 2 } },
      }),
      { probe, imports: [ProbeModule.register(probe)] },
    );
    const started = performance.now();
    const error = await rejectionOf(app.init(), BOUND_MS, 'the init, COMMAND INFO unanswered');
    const tookMs = performance.now() - started;
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE', address: `127.0.0.1:${new URL(url).port}` });
    expect(error.message).toContain(`no answer to COMMAND INFO within ${CONNECT_TIMEOUT_MS} ms`);
    expect(tookMs).toBeLessThan(CONNECT_TIMEOUT_MS + 3_000);
    // Suspended, as after any failed bootstrap: nothing holds the process open.
    const commands = app.moduleRef.get(RedisConnections, { strict: false }).commands;
    await waitFor(() => commands.status === 'end', { description: 'the command connection closed' });

    // New connections pass: init() again boots, the layout adopted once, a task runs once.
    await within(app.init(), BOUND_MS, 'the init again');
    const own = new Redis(server.port);
    try {
      await expect(own.get(new QueueKeys(prefix, 'default').layout)).resolves.toBe('2');
    } finally {
      own.disconnect();
    }
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('once');
    expect(probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
  });
});
