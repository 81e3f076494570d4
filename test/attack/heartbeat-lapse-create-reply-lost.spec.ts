import type { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { monotonicMs, stillOwned } from '../../lib/consumer/lease';
import { loneLeaseKeeper } from '../fixtures/lone-lease-keeper';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Review finding (beside heartbeat-restart-lapse.spec): a beat that finds its liveness key gone
 * reports the lapse and writes the key again (SET NX, a new value); the lease's unbroken chain
 * (heldSince) was restarted only once that write was confirmed. When its reply was lost (the
 * connection went half-open after Redis ran it), the beat failed, the next one, on a new
 * connection inside the lease, found the key there and took the chain for unbroken: heldSince
 * kept its start from before the lapse, so an entry Redis handed over before the lapse still
 * passed stillOwned, though another worker could have reclaimed it while the key was gone.
 */
describe('attack: the reply to the write that follows a lapse is lost', () => {
  const proxy = new HalfOpenProxy();
  const redis = createRedis();
  let keeper: LeaseKeeper | undefined;
  afterAll(async () => {
    await keeper?.stop(true);
    await proxy.stop();
    await closeAll();
  });

  it('the chain is broken all the same: nothing proven before the lapse counts after it', async () => {
    const port = await proxy.start();
    const key = `{${randomPrefix()}:q}:alive:me`;
    const lapses: string[] = [];
    keeper = loneLeaseKeeper({ host: '127.0.0.1', port }, key, { intervalMs: 100, onLapse: (k) => lapses.push(k) });
    await keeper.start();
    const before = await redis.get(key);
    const chainStart = keeper.heldSince();
    expect(chainStart).toBeLessThan(Infinity);

    // The key's write after the lapse (the only SET with NX once the lease started) reaches
    // Redis; its reply, and the rest on that connection, are lost.
    proxy.loseRepliesFromCommandWith('$2\r\nNX\r\n');
    // A millisecond on: the chain may have started in the millisecond start() resolved in.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const provenAt = monotonicMs(); // an entry handed over now, before the lapse
    expect(keeper.unbrokenSince(key, before)).toBeLessThan(provenAt);
    await redis.del(key);
    await waitFor(() => lapses.length === 1, { description: 'the lapse reported' });
    await waitFor(async () => ![null, before].includes(await redis.get(key)), { description: 'the key written again' });
    // Already while that write's reply is on its way (the chain breaks at the reply that found
    // the key gone): an entry handed over before the lapse does not start (the explorer's
    // heartbeat step with a held reply models this moment).
    expect(stillOwned(keeper, provenAt)).toBe(false);
    // The beat waits half the lease for the lost reply, reconnects, and the next beat renews
    // the key with the value that write gave it.
    const renewed = await redis.get(key);
    await waitFor(() => keeper!.isHeld() && keeper!.heldSince() < Infinity, {
      timeoutMs: 5_000,
      description: 'the lease held again after the reconnect',
    });
    expect(await redis.get(key)).toBe(renewed);
    expect(keeper.heldSince()).toBeGreaterThan(provenAt);
    expect(keeper.heldSince()).toBeGreaterThan(chainStart);
    // Nor does the key's start: a settle resent across the lapse is not proven this worker's.
    expect(keeper.unbrokenSince(key, renewed)).toBeGreaterThan(provenAt);
    expect(lapses).toEqual([key]);
  }, 20_000);
});
