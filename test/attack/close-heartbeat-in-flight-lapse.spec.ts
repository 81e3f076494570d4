import type { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { loneLeaseKeeper } from '../fixtures/lone-lease-keeper';
import { ReplyHoldingProxy } from '../fixtures/reply-holding-proxy';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Review finding: a clean stop deletes the liveness key (DEL), so the worker's abandoned runs are
 * taken over at once. A beat in flight when the stop came, whose renewal (SET XX GET) found the
 * key lapsed, wrote it again (SET NX) once its reply came: after the stop's DEL, sent on the same
 * connection before that reply arrived. The key was back for a whole lease: the stopped worker
 * looked alive, and its abandoned runs waited a lease before another worker took them over.
 * The interleaving, on the thread's one connection: SET XX GET (the key gone: nil) ... stop:
 * DEL ... the nil reply: SET NX (creates the key) ... the DEL's reply: QUIT.
 */
describe('attack: stopping while a beat that finds the key lapsed is in flight', () => {
  const proxy = new ReplyHoldingProxy();
  const redis = createRedis();
  let keeper: LeaseKeeper | undefined;
  afterAll(async () => {
    proxy.releaseAll();
    await keeper?.stop(true);
    await proxy.stop();
    await closeAll();
  });

  it('the key stays deleted: the beat writes it no more once the stop came', async () => {
    const port = await proxy.start();
    const key = `{${randomPrefix()}:q}:alive:me`;
    const lapses: string[] = [];
    keeper = loneLeaseKeeper({ host: '127.0.0.1', port }, key, { intervalMs: 100, onLapse: (k) => lapses.push(k) });
    await keeper.start();

    // The next beat's renewal reaches Redis just after the key lapsed; its reply is held.
    proxy.holdRepliesFrom('$3\r\nGET\r\n', () => redis.del(key));
    await waitFor(() => proxy.held === 1, { description: "the beat's reply held" });

    // The stop comes while that beat waits for its reply; its DEL reaches Redis.
    const stopped = keeper.stop(true);
    await waitFor(() => proxy.sent('$3\r\ndel\r\n'), { description: "the stop's DEL sent" });
    // The beat hears the key was gone (it reports the lapse, then acts on it), then the DEL's reply.
    proxy.releaseOne();
    await waitFor(() => lapses.length === 1, { description: 'the lapse reported' });
    proxy.releaseAll();
    await stopped;

    expect({ exists: await redis.exists(key), pttl: await redis.pttl(key) }).toEqual({ exists: 0, pttl: -2 });
  }, 15_000);
});
