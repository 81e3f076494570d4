import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

/**
 * A keyed call (schedule(), replace(), enqueue()) whose reply was lost with its connection, and
 * which ioredis resent once it reconnected, after another process wrote the same key in between.
 * The resend is the call made first: it must not undo what was written after it. A script
 * recognises its own resend by the task id the call drew while the key state still names it
 * (enqueue.lua, schedule-runtime.lua); once another call has written a new run under the key,
 * it could not, until the key state kept the ids of the last runs its calls wrote (field calls).
 * schedule() did not even look: a schedule unscheduled by another process in between came back.
 * No worker runs here: what is enqueued stays queued or delayed.
 */
describe('attack: a keyed call resent after another process wrote the key', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp; // behind the proxy: its reply is lost, and its call resent
  let other: TestApp; // straight on Redis: acts between the first send and the resend

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
    other = await startApp({ prefix, options: { worker: false } });
    // Redis knows the scripts before a reply is cut (a cut NOSCRIPT reply: the first send never ran).
    await producer.client.schedule('echo', 'warm', { key: 'warm-up-schedule', every: '1h' });
    await producer.client.replace('echo', 'warm', { key: 'warm-up-replace' });
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  const resent = <T>(marker: string, call: () => Promise<T>, meanwhile?: () => Promise<unknown>) =>
    resentCall(proxy, marker, call, meanwhile);

  const stateOf = (key: string) => redis.hmget(other.keys.keyState(key), 'state', 'id');
  /** The task ids of the key's stream entries and delayed members. */
  async function waitingOf(key: string): Promise<string[]> {
    const entries = await redis.xrange(other.keys.stream, '-', '+');
    const members = await redis.zrange(other.keys.delayed, 0, -1);
    const fields = [...entries.map(([, f]) => f), ...members.map((m) => JSON.parse(m) as unknown)];
    return fields.flatMap((f) => {
      const o: Record<string, unknown> = Array.isArray(f)
        ? Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]])))
        : (f as Record<string, unknown>);
      return o.k === key ? [String(o.id)] : [];
    });
  }

  it('schedule() resent after another process unscheduled the key: the schedule stays ended', async () => {
    const key = 'scheduled-then-unscheduled';
    let first = '';

    const handle = await resent(
      key,
      () => producer.client.schedule('echo', 'tick', { key, every: '1h' }),
      async () => {
        first = (await stateOf(key))[1]!;
        expect(await other.client.unschedule(key)).toBe(true);
      },
    );
    expect(handle.id).toBe(first);
    expect(await stateOf(key)).toEqual(['cancelled', first]);
    expect(await redis.zscore(other.keys.schedules, key)).toBeNull();
    expect(await waitingOf(key)).toEqual([]);
  });

  it('schedule() resent after another process re-timed the key keeps the newer timing', async () => {
    const key = 'scheduled-then-retimed';
    let newer = '';

    await resent(
      key,
      () => producer.client.schedule('echo', 'tick', { key, every: '1h' }),
      async () => {
        newer = (await other.client.schedule('echo', 'tick', { key, every: '2h' })).id;
      },
    );
    expect(await stateOf(key)).toEqual(['delayed', newer]);
    expect(await redis.hget(other.keys.keyState(key), 'every')).toBe('7200000');
    expect(await waitingOf(key)).toEqual([newer]);
  });

  it('replace() resent after another process replaced the key leaves the newer run alone', async () => {
    const key = 'replaced-twice';
    let newer = '';

    await resent(
      '"first"',
      () => producer.client.replace('echo', 'first', { key }),
      async () => {
        newer = (await other.client.replace('echo', 'second', { key })).id;
      },
    );
    expect(await stateOf(key)).toEqual(['queued', newer]);
    expect(await waitingOf(key)).toEqual([newer]);
  });

  it('enqueue() resent after its run was cancelled and the key used again does not run it', async () => {
    const key = 'cancelled-then-reused';
    let newer = '';

    await resent(
      '"first"',
      () => producer.client.enqueue('echo', 'first', { key }),
      async () => {
        expect(await other.client.cancel(key)).toBe(true);
        newer = (await other.client.enqueue('echo', 'second', { key })).id;
        expect(await other.client.cancel(key)).toBe(true);
      },
    );
    expect(await stateOf(key)).toEqual(['cancelled', newer]);
    expect(await waitingOf(key)).toEqual([]);
  });
});
