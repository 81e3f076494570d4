import { randomUUID } from 'node:crypto';
import { EnqueueManyError, StreamQueueError, type EnqueueItem } from '../../lib';
import { MAX_TASKS_PER_CALL } from '../../lib/client/enqueue-call';
import { QueueKeys } from '../../lib/redis/keys';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, monitorNodeOf, randomPrefix, waitFor } from '../utils/redis';
import type { MonitorConnection } from '../utils/monitor-connection';

/**
 * enqueueMany reports per item what Redis wrote, and sends a batch of any size in bounded
 * script calls (each script call blocks every other client of Redis while it runs).
 */
describe('enqueueMany', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let monitor: MonitorConnection | undefined;

  afterEach(async () => {
    monitor?.disconnect();
    monitor = undefined;
    await closeApps();
  });
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const payloadsOf = async (stream: string) =>
    ((await redis.xrange(stream, '-', '+')) as [string, string[]][]).map(([, f]) => ({
      id: f[f.indexOf('id') + 1],
      payload: JSON.parse(f[f.indexOf('p') + 1]) as unknown,
    }));

  it('a batch Redis refuses in part throws EnqueueManyError saying, per item, what was written', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const broken = new QueueKeys(prefix, 'broken');
    // Real refusals, on a queue whose stream is a string (enqueue-many.lua's XADD gets WRONGTYPE)
    // and whose sequence is a list (enqueue.lua's INCR gets WRONGTYPE before it writes anything).
    // (A key state that is not a hash no longer refuses: it reads as none and is replaced.)
    await redis.set(broken.stream, 'not a stream');
    await redis.rpush(broken.seq, 'not a counter');
    const items: EnqueueItem[] = [
      { name: 'echo', payload: 'a0' },
      { name: 'echo', payload: 'k-ok', options: { key: 'k-ok' } },
      { name: 'echo', payload: 'k-broken', options: { key: 'k-broken', queue: 'broken' } },
      { name: 'echo', payload: 'b0', options: { queue: 'broken' } },
      { name: 'echo', payload: 'a1' },
    ];

    const error = await producer.client.enqueueMany(items).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(EnqueueManyError);
    const partial = error as EnqueueManyError;
    expect(partial).toBeInstanceOf(StreamQueueError);
    expect(partial.code).toBe('ENQUEUE_MANY_FAILED');
    expect(partial.message).toMatch(/^2 of 5 tasks were not enqueued \(3 were\); first error: WRONGTYPE/);
    expect(partial.results.map((r) => ('handle' in r ? 'written' : 'failed'))).toEqual([
      'written',
      'written',
      'failed',
      'failed',
      'written',
    ]);
    expect(partial.failed.map((f) => [f.index, f.error.message.slice(0, 9)])).toEqual([
      [2, 'WRONGTYPE'],
      [3, 'WRONGTYPE'],
    ]);
    const handles = partial.handles;
    expect(handles.map((h) => [h.key, h.queue, h.created])).toEqual([
      [undefined, 'default', true],
      ['k-ok', 'default', true],
      [undefined, 'default', true],
    ]);
    // What was reported written is in the stream, under the reported ids; nothing else is.
    expect(await payloadsOf(producer.keys.stream)).toEqual([
      { id: handles[0].id, payload: 'a0' },
      { id: handles[2].id, payload: 'a1' },
      { id: handles[1].id, payload: 'k-ok' },
    ]);
    expect(await redis.exists(broken.keyState('k-broken'))).toBe(0);
    expect(await redis.get(broken.stream)).toBe('not a stream');

    // Retrying only the failed items, once their keys are repaired, duplicates nothing.
    await redis.del(broken.stream);
    await redis.del(broken.seq);
    const retried = await producer.client.enqueueMany(partial.failed.map((f) => items[f.index]));
    expect(retried.map((h) => h.key)).toEqual(['k-broken', undefined]);
    expect((await payloadsOf(producer.keys.stream)).map((e) => e.payload)).toEqual(['a0', 'a1', 'k-ok']);
    expect((await payloadsOf(broken.stream)).map((e) => e.payload).sort()).toEqual(['b0', 'k-broken']);
  });

  it('60,000 unkeyed items are all written, in bounded script calls', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    await producer.client.enqueue('echo', 'warm-up'); // scripts and connection ready
    await redis.del(producer.keys.stream);

    // MONITOR shows each script call with its arguments: 5 per task after sha, numkeys, 2 keys
    // and the control channel. Its output is in execution order, so seeing the marker (sent
    // after the batch was answered) means every call of the batch was seen.
    const sizes: number[] = [];
    // A key of the queue's slot: on a cluster it reaches the node MONITOR watches.
    const marker = `${producer.keys.tag}:marker-${randomUUID()}`;
    let markerSeen = false;
    monitor = await monitorNodeOf(producer.keys.stream);
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.includes(marker)) markerSeen = true;
      if (source === 'lua' || !/^evalsha$|^eval$/i.test(args[0]) || !args.includes(producer.keys.stream)) return;
      sizes.push((args.length - 6) / 6); // six values per task (see enqueue-many.lua)
    });

    const count = 60_000;
    const handles = await producer.client.enqueueMany(
      Array.from({ length: count }, (_, i) => ({ name: 'echo', payload: i })),
    );
    await redis.exists(marker);
    await waitFor(() => markerSeen, { timeoutMs: 30_000, description: 'the marker in MONITOR output' });

    expect(handles).toHaveLength(count);
    expect(await redis.xlen(producer.keys.stream)).toBe(count);
    const entries = await payloadsOf(producer.keys.stream);
    expect(entries.map((e) => e.payload)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(entries.map((e) => e.id)).toEqual(handles.map((h) => h.id));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
    expect(Math.max(...sizes)).toBe(MAX_TASKS_PER_CALL);
    expect(sizes).toHaveLength(count / MAX_TASKS_PER_CALL);
  }, 60_000);

  it('large payloads cut a chunk before its task count does', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    await producer.client.enqueue('echo', 'warm-up');
    await redis.del(producer.keys.stream);
    const sizes: number[] = [];
    // A key of the queue's slot: on a cluster it reaches the node MONITOR watches.
    const marker = `${producer.keys.tag}:marker-${randomUUID()}`;
    let markerSeen = false;
    monitor = await monitorNodeOf(producer.keys.stream);
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.includes(marker)) markerSeen = true;
      if (source === 'lua' || !/^evalsha$|^eval$/i.test(args[0]) || !args.includes(producer.keys.stream)) return;
      sizes.push((args.length - 6) / 6); // six values per task (see enqueue-many.lua)
    });
    // 400,000 characters each: two fit in one call's 1 MiB of payload, three do not.
    const big = 'x'.repeat(400_000);
    await producer.client.enqueueMany(Array.from({ length: 5 }, () => ({ name: 'echo', payload: big })));
    await redis.exists(marker);
    await waitFor(() => markerSeen, { description: 'the marker in MONITOR output' });
    expect(sizes).toEqual([2, 2, 1]);
    expect(await redis.xlen(producer.keys.stream)).toBe(5);
  });
});
