import type { Redis } from 'ioredis';
import { ApplicationClosedError, type QueueClient, type TaskHandle } from '../../lib';
import { latencyProxy } from '../fixtures/latency-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { keysMatching, redisUrl, subscriberCount, waitFor } from '../utils/redis';
import { useSpecRedis } from '../utils/spec-redis';

/** Every key of the prefix with its DUMP: equal before and after means nothing was written. */
async function snapshot(redis: Redis, prefix: string): Promise<Record<string, string | null>> {
  const keys = (await keysMatching(redis, `*${prefix}*`)).sort();
  const dumps = await Promise.all(keys.map((key) => redis.dumpBuffer(key)));
  return Object.fromEntries(keys.map((key, i) => [key, dumps[i]?.toString('base64') ?? null]));
}

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => value,
    (error: unknown) => error,
  );

/**
 * After app.close() only enqueue(), replace(), enqueueMany() and result() failed typed: every
 * other call of QueueClient (and a handle's status()) rejected with ioredis's bare "Connection is
 * closed.", and events() opened a connection of its own outside the module's (never closed) and
 * waited for ever; a subscription open at close went on for ever too.
 */
describe('attack: QueueClient after the application closed', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(closeApps);

  it('every call rejects with ApplicationClosedError, sending nothing', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    const handle = await t.client.enqueue('echo', 'queued');
    const keyed = await t.client.enqueue('echo', 'keyed', { key: 'k' });
    await t.client.schedule('echo', 'every', { key: 's', every: 60_000 });
    await t.close();
    const before = await snapshot(redis, prefix);
    const c: QueueClient = t.client;
    const byId: TaskHandle = c.handle(handle.id);
    const calls: Record<string, () => Promise<unknown>> = {
      'counts()': () => c.counts(),
      'inspect()': () => c.inspect(),
      'list()': () => c.list('queued'),
      'findTask()': () => c.findTask(handle.id),
      'remove()': () => c.remove(handle.id),
      'redrive()': () => c.redrive('1-0'),
      'redriveAll()': () => c.redriveAll(),
      'purgeDeadLetters()': () => c.purgeDeadLetters(),
      'deadLetterBound()': () => c.deadLetterBound(),
      'cancel()': () => c.cancel('k'),
      'status()': () => c.status('k'),
      'schedule()': () => c.schedule('echo', 'again', { key: 's2', every: 60_000 }),
      'unschedule()': () => c.unschedule('s'),
      'schedules()': () => c.schedules(),
      'pause()': () => c.pause('default'),
      'resume()': () => c.resume('default'),
      'isPaused()': () => c.isPaused('default'),
      'enqueue()': () => c.enqueue('echo', 'late'),
      'replace()': () => c.replace('echo', 'late', { key: 'k' }),
      'enqueueMany()': () => c.enqueueMany([{ name: 'echo', payload: 'late' }]),
      // No items: it resolved [] on a closed client, where every other call throws.
      'enqueueMany([])': () => c.enqueueMany([]),
      'handle.status()': () => handle.status(),
      'keyed handle.status()': () => keyed.status(),
      'handle(id).status()': () => byId.status(),
      'handle.result()': () => handle.result({ timeoutMs: 1_000 }),
    };
    const failures: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls)) {
      const error = await outcome(call());
      failures[name] = error instanceof ApplicationClosedError ? 'ApplicationClosedError' : error;
    }
    expect(failures).toEqual(Object.fromEntries(Object.keys(calls).map((name) => [name, 'ApplicationClosedError'])));
    expect(await snapshot(redis, prefix)).toEqual(before);
  });

  it('events() subscribed after close errors with ApplicationClosedError, subscribing nothing', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    await t.close();
    const error = await new Promise((resolve) =>
      t.client.events().subscribe({ error: resolve, complete: () => resolve('completed') }),
    );
    expect(error).toBeInstanceOf(ApplicationClosedError);
    await expect(subscriberCount(redis, t.keys.eventsChannel)).resolves.toBe(0);
  });

  it('an events() subscription open at close completes and closes its connection', async () => {
    const t = await startApp({ prefix, options: { worker: false } });
    let ended: string | undefined;
    t.client.events().subscribe({ error: () => (ended = 'error'), complete: () => (ended = 'completed') });
    await waitFor(async () => (await subscriberCount(redis, t.keys.eventsChannel)) === 1, {
      description: 'events() subscribed',
    });
    await t.close();
    expect(ended).toBe('completed');
    await waitFor(async () => (await subscriberCount(redis, t.keys.eventsChannel)) === 0, {
      description: 'its connection closed',
    });
  });

  it('a call that close cuts short between two commands rejects with ApplicationClosedError', async () => {
    const proxy = await latencyProxy(redisUrl(), 50);
    try {
      const t = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
      const handle = await t.client.enqueue('echo', 'queued');
      // remove() reads where the task is, then removes it: each a round trip.
      const removing = outcome(t.client.remove(handle.id));
      await t.close();
      expect(await removing).toBeInstanceOf(ApplicationClosedError);
    } finally {
      await proxy.close();
    }
  });
});
