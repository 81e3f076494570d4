import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';

/*
 * Review finding (fresh-clone CI, settle-reply-lost.spec): a heartbeat whose replies are lost
 * (its connection went half-open after Redis read the beat) waits leaseMs - interval for a reply,
 * reconnects, and its next beat went out at the next interval tick: leaseMs after the lost beat,
 * when the key it renewed expires, and a reconnect slower than the interval came after it anyway.
 * A live worker's liveness key lapsed, so another worker could reclaim its runs, and its settles
 * were refused. A beat now waits at most leaseMs - 2 intervals (and half the lease) for its reply,
 * and the next goes out as soon as the new connection is ready, inside the lease the lost beat
 * renewed.
 */
describe('attack: heartbeat replies lost on a live worker', () => {
  const { proxy, redis } = halfOpenSuite();

  afterEach(() => proxy.delayNew(0));

  it('keeps its liveness key, with the same value, through the reconnect', async () => {
    const { app, keys } = await workerBehind(proxy);
    const alive = keys.alive(app.moduleRef.get(ConsumerHost).consumerName);
    const held = await redis.get(alive);
    expect(held).not.toBeNull();

    proxy.loseRepliesOfExisting();
    // A reconnect takes 200 ms (ioredis waits 50 ms before it): a beat that waited 800 ms for
    // its reply, as one did, leaves too little of the 1 s lease the lost beat renewed.
    proxy.delayNew(200);
    const seen = new Set<string | null>();
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      seen.add(await redis.get(alive));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([...seen]).toEqual([held]);
  }, 20_000);
});
