import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl, waitFor } from '../utils/redis';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { RedisUnreachableError } from '../../lib';

/** The error a promise rejected with (it must reject). */
const rejection = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => {
      throw new Error('resolved; a rejection was expected');
    },
    (error: Error) => error,
  );

/**
 * Redis ran a producer's enqueue, its reply was lost with the connection, and Redis stayed
 * unreachable past ioredis's maxRetriesPerRequest reconnect attempts (about 10 s with its
 * defaults). ioredis then rejects the command with MaxRetriesPerRequestError, the same error as a
 * command that was never sent: the README said a rejected enqueue wrote nothing, but this task
 * was written and runs, and an app that enqueued it again (as that promise invited) ran it twice.
 * The error now says which it is, as at close (ApplicationClosedError). It was still ioredis's
 * own MaxRetriesPerRequestError, with no `mayHaveRun` and no code, where a call given up by the
 * module's own bound (offlineTimeoutMs) rejects with RedisUnreachableError: a caller had to
 * handle two errors for one outage, and read the message to tell the cases apart. Every call
 * now rejects with RedisUnreachableError, ioredis's error as its `cause`.
 */
describe('attack: an enqueue whose reply was lost, Redis unreachable past maxRetriesPerRequest', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  beforeEach(async () => (proxy = await replyCuttingProxy(redisUrl())));
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  it('rejects saying it may have run (it did), and one never sent saying it wrote nothing', async () => {
    // ioredis gives the calls up before the module's own bound (offlineTimeoutMs, 10 s by default) would.
    const producer = await startApp({
      prefix,
      options: { worker: false, connection: { url: proxy.url }, offlineTimeoutMs: 60_000 },
    });
    const cut = proxy.cutReplyTo('landed-payload');
    const allow = proxy.refuseNewConnections();
    const landed = rejection(producer.client.enqueue('echo', 'landed-payload'));
    await cut;
    // Once the client saw the drop (a command written before that may have run, as far as it knows).
    const { commands } = producer.app.get(RedisConnections);
    await waitFor(() => commands.status === 'reconnecting', { intervalMs: 1 });
    // Keyed: a script call of its own (not behind the group commit), queued while reconnecting.
    const neverSent = rejection(producer.client.enqueue('echo', 'never-sent', { key: 'never-sent' }));
    // A read, and a batch: each public call rejects the same way.
    const read = rejection(producer.client.status('never-sent'));
    const batch = rejection(producer.client.enqueueMany([{ name: 'echo', payload: 'batch-never-sent' }]));

    const [landedError, neverSentError, readError, batchError] = await Promise.all([landed, neverSent, read, batch]);
    await allow();
    expect(landedError.message).toMatch(/sent before the connection dropped.*may have run/);
    expect(neverSentError.message).toMatch(/never sent.*nothing was written/);
    const batchItemError = (batchError as unknown as { results: { error?: Error }[] }).results[0].error;
    const given = [landedError, neverSentError, readError, batchItemError];
    expect(given.map((e) => e instanceof RedisUnreachableError)).toEqual([true, true, true, true]);
    expect(given.map((e) => (e as RedisUnreachableError).mayHaveRun)).toEqual([true, false, false, false]);
    expect(given.map((e) => (e as RedisUnreachableError).code)).toEqual(Array(4).fill('REDIS_UNREACHABLE'));
    // ioredis's own error is kept as the cause, for code that looked for it.
    expect(given.map((e) => (e?.cause as Error | undefined)?.name)).toEqual(Array(4).fill('MaxRetriesPerRequestError'));
    expect(landedError.message).toMatch(/maxRetriesPerRequest/);

    // What each said is so: the first task is in the stream, the second key has no state.
    const payloads = (await redis.xrange(producer.keys.stream, '-', '+')).map(
      ([, fields]) => fields[fields.indexOf('p') + 1],
    );
    expect(payloads).toEqual(['"landed-payload"']);
    expect(await redis.exists(producer.keys.keyState('never-sent'))).toBe(0);
  }, 30_000);
});
