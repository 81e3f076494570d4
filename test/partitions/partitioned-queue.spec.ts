import { TaskCancelledError, TaskSupersededError, type TaskContext } from '../../lib';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { QueueKeys } from '../../lib/redis/keys';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { watchCommands } from '../fixtures/monitored-commands';
import { partitioned, usePartitionApps } from './partition-apps';

const P = 4;

/** Every key under `prefix`, sorted, with the prefix replaced by `<p>`. */
async function keyNames(redis: import('ioredis').Redis, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`{${prefix}:*`);
  return keys.map((k) => k.replace(prefix, '<p>')).sort();
}

describe('a partitioned queue', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it('partitions: 1 writes exactly the keys of an unpartitioned queue (same names, same types)', async () => {
    const scenario = async (options: object) => {
      const app = await apps.start({ worker: false, ...options });
      await app.client.enqueue('echo', 'now');
      await app.client.enqueue('echo', 'later', { delayMs: 60_000 });
      await app.client.enqueue('echo', 'keyed', { key: 'k1' });
      await app.client.enqueueMany([
        { name: 'echo', payload: 1 },
        { name: 'echo', payload: 2, options: { key: 'k2' } },
      ]);
      const names = await keyNames(redis, apps.prefix);
      const types = await Promise.all(names.map((k) => redis.type(k.replace('<p>', apps.prefix))));
      await app.close();
      await redis.unlink(...(await redis.keys(`{${apps.prefix}:*`)));
      return names.map((k, i) => `${k} ${types[i]}`);
    };
    const plain = await scenario({});
    const one = await scenario(partitioned(1));
    expect(one).toEqual(plain);
    expect(plain.every((k) => k.startsWith('{<p>:default}:'))).toBe(true);
    expect(plain.some((k) => k.includes(':layout'))).toBe(false);
  });

  it('spreads unkeyed tasks evenly, and enqueueMany sends one script call per partition', async () => {
    const app = await apps.start(partitioned(P, { worker: false }));
    const partitions = apps.partitions(P);
    for (let i = 0; i < 8 * P; i++) await app.client.enqueue('echo', i);
    expect(await Promise.all(partitions.all.map((k) => redis.xlen(k.stream)))).toEqual([8, 8, 8, 8]);

    // The script calls this queue was sent, counted per partition through MONITOR: server-wide
    // INFO commandstats also counted whatever else the shared Redis served meanwhile. EVALSHA
    // only: a script Redis did not know yet is sent again as EVAL.
    const watches = await Promise.all(partitions.all.map((k) => watchCommands(k.stream)));
    await Promise.all(watches.map((w) => w.take()));
    const handles = await app.client.enqueueMany(
      Array.from({ length: 20 * P }, (_, i) => ({ name: 'echo', payload: i })),
    );
    const sent = await Promise.all(watches.map((w) => w.take()));
    watches.forEach((w) => w.close());
    expect(sent.map((commands) => commands.filter(([name]) => name === 'evalsha').length)).toEqual([1, 1, 1, 1]);
    expect(await Promise.all(partitions.all.map((k) => redis.xlen(k.stream)))).toEqual([28, 28, 28, 28]);
    expect(new Set(handles.map((h) => h.toJSON().partition ?? 0))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('keeps a key in one partition: a replace never overlaps the run it supersedes, on another worker', async () => {
    const partitions = apps.partitions(P);
    const key = ['a', 'b', 'c', 'd', 'e'].find((k) => partitions.forKey(k).partition !== 0)!;
    const keys = partitions.forKey(key);
    const firstMayEnd = new Latch();
    const running = new Set<number>();
    let overlapped = false;
    apps.probe.on('keyed', async (payload, ctx: TaskContext) => {
      if (running.size > 0) overlapped = true;
      running.add(ctx.generation);
      if (payload === 'first') await firstMayEnd.wait(); // ignores its signal
      running.delete(ctx.generation);
      return payload;
    });
    const [a] = await Promise.all([
      apps.start(partitioned(P), [apps.generationTasks()]),
      apps.start(partitioned(P), [apps.generationTasks()]),
    ]);
    const first = await a.client.enqueue('keyed', 'first', { key });
    await waitFor(() => running.size === 1, { description: 'the first run started' });
    const second = await a.client.replace('keyed', 'second', { key });
    // The second generation is read and deferred (into its partition's delayed set) while the first runs.
    await waitFor(async () => (await redis.zcard(keys.delayed)) > 0, { description: 'the replace was deferred' });
    expect(running.size).toBe(1);
    firstMayEnd.open();
    await expect(second.result()).resolves.toBe('second');
    await expect(first.result()).rejects.toBeInstanceOf(TaskSupersededError);
    expect(overlapped).toBe(false);
    expect(await redis.hget(keys.keyState(key), 'gen')).toBe(String(second.generation));
    for (const other of partitions.all.filter((k) => k !== keys))
      expect(await redis.exists(other.keyState(key))).toBe(0);
  });

  it('answers status, cancel, replace and result for keys and ids in any partition', async () => {
    const app = await apps.start(partitioned(P));
    const partitions = apps.partitions(P);
    const key = ['k1', 'k2', 'k3', 'k4', 'k5'].find((k) => partitions.forKey(k).partition !== 0)!;

    const delayed = await app.client.enqueue('echo', 'later', { key, delayMs: 60_000 });
    expect(await app.client.status(key)).toMatchObject({ state: 'delayed', id: delayed.id });
    expect(await app.client.cancel(key)).toBe(true);
    expect(await app.client.status(key)).toMatchObject({ state: 'cancelled' });
    await expect(delayed.result()).rejects.toBeInstanceOf(TaskCancelledError);

    const old = await app.client.enqueue('echo', 'old', { key, delayMs: 60_000 });
    const replaced = await app.client.replace('echo', 'new', { key });
    await expect(replaced.result()).resolves.toBe('new');
    await expect(old.result()).rejects.toBeInstanceOf(TaskSupersededError);
    expect(await app.client.status(key)).toMatchObject({ state: 'completed', id: replaced.id });

    const unkeyed = await Promise.all(Array.from({ length: 2 * P }, (_, i) => app.client.enqueue('echo', i)));
    await expect(Promise.all(unkeyed.map((h) => h.result()))).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const elsewhere = unkeyed.find((h) => (h.toJSON().partition ?? 0) > 0)!;
    const rebuilt = app.client.handle(elsewhere.id, JSON.parse(JSON.stringify(elsewhere)));
    await expect(rebuilt.result()).resolves.toBe(unkeyed.indexOf(elsewhere));
    expect(await rebuilt.status()).toMatchObject({ state: 'completed' });

    // By id and queue alone, as a link to a result carries them: the id says the partition.
    for (const h of [replaced, ...unkeyed]) {
      const byId = app.client.handle(h.id, { queue: 'default' });
      await expect(byId.result()).resolves.toBe(h === replaced ? 'new' : unkeyed.indexOf(h));
    }
    expect(new Set(unkeyed.map((h) => partitionOfTaskId(h.id)))).toEqual(new Set([0, 1, 2, 3]));
    expect(unkeyed.every((h) => partitionOfTaskId(h.id) === h.toJSON().partition)).toBe(true);
  });

  it('holds the concurrency across partitions: one worker never runs more than its slots', async () => {
    let running = 0;
    let most = 0;
    apps.probe.on('echo', async (payload) => {
      most = Math.max(most, ++running);
      await sleep(10);
      running--;
      return payload;
    });
    const app = await apps.start(partitioned(P, { concurrency: 2 }));
    const handles = await app.client.enqueueMany(
      Array.from({ length: 6 * P }, (_, i) => ({ name: 'echo', payload: i })),
    );
    await Promise.all(handles.map((h) => h.result()));
    expect(most).toBe(2);
  });

  it("recovers a dead worker's runs in every partition", async () => {
    const producer = await apps.start(partitioned(P, { worker: false }));
    const handles = await producer.client.enqueueMany(
      Array.from({ length: 2 * P }, (_, i) => ({ name: 'echo', payload: i })),
    );
    // A worker read every partition, then died: its entries are pending under it, and it has no liveness key.
    for (const keys of apps.partitions(P).all) {
      await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
      const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead-worker', 'STREAMS', keys.stream, '>')) as [
        string,
        unknown[],
      ][];
      expect(read[0][1]).toHaveLength(2);
    }
    const reclaimed: string[] = [];
    const worker = await apps.start(partitioned(P));
    worker.events.on('reclaimed', (e) => reclaimed.push(String(e.detail)));
    await expect(Promise.all(handles.map((h) => h.result()))).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...apps.probe.countsById().values()]).toEqual(Array(2 * P).fill(1));
    expect(reclaimed).toHaveLength(2 * P);
    for (const keys of apps.partitions(P).all) {
      expect(await redis.xpending(keys.stream, CONSUMER_GROUP)).toEqual([0, null, null, null]);
    }
  });

  it('keeps a periodic chain in partition 0', async () => {
    await apps.start(partitioned(P), [apps.generationTasks()]);
    await waitFor(() => apps.probe.runsOf('tick').length >= 2, { timeoutMs: 10_000, description: 'two ticks' });
    const [zero, ...others] = apps.partitions(P).all;
    expect(zero).toEqual(new QueueKeys(apps.prefix, 'default'));
    expect(await redis.hget(zero.keyState('periodic:tick'), 'state')).toBeTruthy();
    for (const keys of others) {
      expect(await redis.exists(keys.keyState('periodic:tick'))).toBe(0);
      expect(await redis.zcard(keys.delayed)).toBe(0);
    }
  });
});
