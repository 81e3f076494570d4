import type { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { loneLeaseKeeper } from '../fixtures/lone-lease-keeper';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Attack on the heartbeat thread: a beat is skipped while the previous one is `busy`, and the
 * heartbeat connection has no command timeout. One beat sent into a half-open connection never
 * resolves, so no beat is ever sent again: the worker loses its lease and stays leaseless (reads
 * nothing, starts nothing) until the OS gives up on the socket (minutes: TCP retransmissions),
 * although a fresh connection to Redis works at once.
 */
describe('attack: a heartbeat stuck on a half-open connection', () => {
  const proxy = new HalfOpenProxy();
  const redis = createRedis();
  let keeper: LeaseKeeper | undefined;
  afterAll(async () => {
    await keeper?.stop(true);
    await proxy.stop();
    await closeAll();
  });

  it('the lease is held again soon after the connection went half-open', async () => {
    const port = await proxy.start();
    const key = `{${randomPrefix()}:q}:alive:me`;
    keeper = loneLeaseKeeper({ host: '127.0.0.1', port }, key, { intervalMs: 200 });
    await keeper.start();
    expect(keeper.isHeld()).toBe(true);

    proxy.blackholeExisting();
    // Nothing sent on the old connection reaches Redis: its key, last renewed before the cut,
    // expires within the 1 s lease unless a beat on a new connection renews it. Since the beat
    // goes out as soon as a new connection is ready (heartbeat-reply-lost.spec), it does, before
    // the lease runs down; the keeper must not stay leaseless for minutes in any case.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    await waitFor(() => keeper!.isHeld(), { timeoutMs: 10_000, description: 'the lease held' });
  });
});
