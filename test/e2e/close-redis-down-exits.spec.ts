import { spawnWorker } from '../utils/spawn-worker';
import { msAfterUntilExit } from '../fixtures/exit-after';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

const WORKER_FILE = 'test/e2e/fixtures/close-redis-down-worker.ts';

/*
 * Review finding: app.close() while Redis was down disconnected each connection waiting to
 * reconnect, its socket already closed, and ioredis armed its disconnectTimeout (2 s) to cut that
 * socket: nothing cleared it, and the process stayed 2 s after close() resolved (measured
 * 2,007 ms). The disconnect() itself is kept (only that timer is cleared): the reconnect it
 * cancels would, left pending, retry for good with Redis down and never let the process exit.
 */
describe('app.close() while Redis is down', () => {
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('the process exits at once once close() resolved', async () => {
    server = await startRedisServer();
    const worker = await spawnWorker(WORKER_FILE, { env: { REDIS_URL: server.url, SQ_PREFIX: 'sq-test-down' } });
    await server.kill();
    await worker.waitForLine(/^closed$/, { timeoutMs: 20_000 });
    // By the worker's own clock, from "closed" to its 'exit' event.
    const stayedMs = await msAfterUntilExit(worker, 'closed');
    expect(stayedMs).toBeLessThan(1_000);
  }, 60_000);
});
