import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

/**
 * Review finding: cancel.lua ran in Redis, its reply was lost with the connection, and ioredis
 * resent it once it reconnected. The second execution found nothing live (the first had
 * cancelled the run, ended the schedule) and said so: cancel() resolved false ('nothing was
 * cancelled') and unschedule() false ('not a schedule') for a call that did cancel. A run of the
 * key enqueued between the two was cancelled by the resend, which is the same call, made before it.
 * No worker runs here: what is enqueued stays queued.
 */
describe('attack: a cancel() whose reply was lost and which ioredis resent', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp; // behind the proxy: its reply is lost, and its call resent
  let other: TestApp; // straight on Redis: acts between the first send and the resend

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
    other = await startApp({ prefix, options: { worker: false } });
    // Redis knows the script before a reply is cut: a NOSCRIPT reply cut instead would mean
    // the first send never ran.
    await producer.client.cancel('warm-up');
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  const resent = <T>(marker: string, call: () => Promise<T>, meanwhile?: () => Promise<unknown>) =>
    resentCall(proxy, marker, call, meanwhile);

  const stateOf = (key: string) => redis.hmget(other.keys.keyState(key), 'state', 'id');

  it('cancel(): the resend answers true, as the first send did; a later cancel() answers false', async () => {
    const key = 'resent-cancel';
    await other.client.enqueue('echo', 'x', { key });

    await expect(resent(key, () => producer.client.cancel(key))).resolves.toBe(true);
    expect((await stateOf(key))[0]).toBe('cancelled');
    // A new call: nothing is live any more.
    await expect(producer.client.cancel(key)).resolves.toBe(false);
  });

  it('unschedule(): the resend answers true, as the first send did', async () => {
    const key = 'resent-unschedule';
    await other.client.schedule('echo', 'tick', { key, every: '1h' });

    await expect(resent(key, () => producer.client.unschedule(key))).resolves.toBe(true);
    expect(await redis.zscore(other.keys.schedules, key)).toBeNull();
    await expect(producer.client.unschedule(key)).resolves.toBe(false);
  });

  it('a cancel() resent after a new run of the key was enqueued answers true and leaves that run alone', async () => {
    const key = 'resent-after-new-run';
    await other.client.enqueue('echo', 'first', { key });
    let newer = '';

    const answer = resent(
      key,
      () => producer.client.cancel(key),
      async () => {
        newer = (await other.client.enqueue('echo', 'second', { key })).id;
      },
    );
    await expect(answer).resolves.toBe(true);
    expect(await stateOf(key)).toEqual(['queued', newer]);
    expect(await redis.xlen(other.keys.stream)).toBe(1);
  });

  it('a cancel() that found nothing live, resent after a run of the key was enqueued, answers false and leaves it alone', async () => {
    const key = 'resent-found-nothing';
    let newer = '';

    const answer = resent(
      key,
      () => producer.client.cancel(key),
      async () => {
        newer = (await other.client.enqueue('echo', 'later', { key })).id;
      },
    );
    await expect(answer).resolves.toBe(false);
    expect(await stateOf(key)).toEqual(['queued', newer]);
  });

  it('an unschedule() resent after the key was scheduled again answers true and leaves the new schedule alone', async () => {
    const key = 'resent-after-new-schedule';
    await other.client.schedule('echo', 'tick', { key, every: '1h' });
    let newer = '';

    const answer = resent(
      key,
      () => producer.client.unschedule(key),
      async () => {
        newer = (await other.client.schedule('echo', 'tock', { key, every: '2h' })).id;
      },
    );
    await expect(answer).resolves.toBe(true);
    expect(await redis.zscore(other.keys.schedules, key)).toBe('0');
    expect((await stateOf(key))[1]).toBe(newer);
    expect(await redis.hget(other.keys.keyState(key), 'rt')).toBe('1');
  });
});
