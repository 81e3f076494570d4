import { Probe } from '../fixtures/probe';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl, waitFor } from '../utils/redis';

const SHUTDOWN_TIMEOUT_MS = 1_000;
/**
 * Each wait of close() at its own cap: shutdownTimeoutMs for the runs, then 1 s for aborted runs
 * to return (AFTER_DEADLINE_MS), 2 s for the heartbeat thread to stop and 2 s for the liveness
 * keys' DEL from the main thread (STOP_WAIT_MS each). It takes 4.3 s here (the DEL fails at once),
 * under CPU load as well: the waits are timers. An UNSUBSCRIBE awaited for Redis added 6.3 s
 * (10.7 s in all, with ioredis's default maxRetriesPerRequest), or never ended (null).
 */
const CLOSE_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 1_000 + 2_000 + 2_000;

/**
 * A worker closes while Redis cannot be reached (a network cut, Redis down): the settle of its
 * finished run cannot land. close() must still end within its bound, and the run must stay
 * pending for another worker (never acked without a result, never lost). The drain awaited
 * UNSUBSCRIBE on the control connection, which waits for a reconnect: close() took 10 s with
 * `shutdownTimeoutMs: 1000` and ioredis's default maxRetriesPerRequest, and never ended with
 * `maxRetriesPerRequest: null` (the setting BullMQ users carry over).
 */
describe('attack: app.close() of a worker while Redis is unreachable', () => {
  const redis = createRedis();
  let prefix: string;
  let proxy: ReplyCuttingProxy;

  beforeEach(async () => {
    prefix = randomPrefix();
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  for (const maxRetriesPerRequest of [undefined, null]) {
    it(`ends within its bound (maxRetriesPerRequest ${maxRetriesPerRequest}); the run is reclaimed and runs once more`, async () => {
      const gate = new Latch();
      const cut = await startApp({
        prefix,
        options: {
          connection: { url: proxy.url, options: { maxRetriesPerRequest } },
          shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
        },
      });
      cut.probe.on('echo', async (payload) => {
        await gate.wait();
        return payload;
      });
      const handle = await cut.client.enqueue('echo', 'survivor');
      await waitFor(() => cut.probe.runs.length === 1, { description: 'the run started' });
      await proxy.close();

      const startedAt = Date.now();
      const closing = cut.close();
      gate.open(); // it returns; its settle cannot reach Redis
      const closed = await Promise.race([
        closing.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_BOUND_MS + 5_000)),
      ]);
      expect(closed).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(CLOSE_BOUND_MS);

      // Still pending under the closed worker, with no result: another worker takes it over.
      expect(((await redis.xpending(cut.keys.stream, 'workers')) as unknown[])[0]).toBe(1);
      await expect(redis.exists(cut.keys.result(handle.id))).resolves.toBe(0);
      const next = await startApp({ prefix, probe: new Probe() });
      await waitFor(() => redis.exists(next.keys.result(handle.id)), { description: 'the run reclaimed and settled' });
      expect(next.probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    }, 30_000);
  }
});
