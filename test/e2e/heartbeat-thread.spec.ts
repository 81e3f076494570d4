import { ConsumerHost } from '../../lib/consumer/consumer.host';
import type { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { closeApps, logger, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, keysMatching, randomPrefix, waitFor } from '../utils/redis';

/**
 * Issue 15 item 2: when the heartbeat thread died, the worker only logged. Its lease lapsed, it
 * never ran another task, and the process stayed up: a zombie. The thread is now restarted with
 * backoff, and the worker goes on.
 */
describe('the heartbeat thread', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('is restarted when it dies: the lease is renewed again and tasks keep running', async () => {
    const t = await startApp({ prefix, options: { leaseMs: 1_000 } });
    const keeper = (t.app.get(ConsumerHost) as unknown as { leaseKeeper: LeaseKeeper }).leaseKeeper;
    const first = keeper.thread!;
    const aliveKey = (await keysMatching(redis, `{${prefix}:default}:alive:*`))[0];
    expect(aliveKey).toBeDefined();

    await first.terminate(); // the thread dies (an uncaught error, an OOM in the thread, ...)

    await waitFor(() => keeper.thread !== undefined && keeper.thread !== first, {
      timeoutMs: 5_000,
      description: 'a new heartbeat thread',
    });
    // Past a whole lease after the death, the liveness key is still renewed and tasks still run.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await redis.pttl(aliveKey)).toBeGreaterThan(0);
    expect(keeper.isHeld()).toBe(true);
    const handle = await t.client.enqueue('once', 'after the restart');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('after the restart');
    expect(logger.lines.some((l) => /Heartbeat thread exited.*restarting/.test(l.message))).toBe(true);
  });
});
