import type { Cluster } from 'ioredis';
import type { StreamQueueModuleOptions, TaskContext, TaskHandle } from '../../../lib';
import { QueuePartitions } from '../../../lib/partitions/queue-partitions';
import { CONSUMER_GROUP } from '../../../lib/stream-queue.constants';
import { Probe } from '../../fixtures/probe';
import { Latch } from '../../utils/helpers';
import { closeApps, startApp } from '../../fixtures/test-app';
import { clusterClient, startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix, waitFor } from '../../utils/redis';

const P = 6;
const UNKEYED = 120;
const KEYS = 30;
const WORK_MS = 15;

/**
 * A partitioned queue on a real local cluster (3 masters): its partitions live in 6 slots spread
 * over the masters, so a worker reads them with one blocking read per slot group (a multi-stream
 * XREADGROUP across slots is refused with CROSSSLOT).
 */
describe('a partitioned queue on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = clusterClient(cluster.nodes);
  }, 60_000);
  afterEach(closeApps);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  const options = (overrides: Partial<StreamQueueModuleOptions> = {}): Partial<StreamQueueModuleOptions> => ({
    connection: { cluster: { nodes: cluster.nodes } },
    queues: { default: { partitions: P } },
    concurrency: 8,
    leaseMs: 5_000,
    ...overrides,
  });

  it('two workers drain 6 partitions over 3 masters: keyed and unkeyed, nothing lost, no key overlaps, every partition read', async () => {
    const prefix = randomPrefix();
    const partitions = new QueuePartitions(prefix, 'default', P);
    const masters = await Promise.all(partitions.all.map((k) => cluster.masterOf(k.stream)));
    expect(new Set(masters.map((m) => m.port)).size).toBeGreaterThan(1);

    const completed = new Set<string>();
    const runningKeys = new Set<string>();
    const overlaps: string[] = [];
    const workersOf = new Map<string, Set<string>>();
    const probe = new Probe().on('echo', async (payload, ctx: TaskContext) => {
      if (ctx.key !== undefined) {
        if (runningKeys.has(ctx.key)) overlaps.push(ctx.key);
        runningKeys.add(ctx.key);
      }
      try {
        await new Promise((resolve) => setTimeout(resolve, WORK_MS));
        completed.add(ctx.id);
        const worker = ctx.fencingToken.slice(ctx.fencingToken.indexOf('/') + 1);
        workersOf.set(worker, (workersOf.get(worker) ?? new Set()).add(ctx.id));
        return payload;
      } finally {
        if (ctx.key !== undefined) runningKeys.delete(ctx.key);
      }
    });

    const producer = await startApp({ prefix, options: options({ worker: false }) });
    const handles: TaskHandle[] = [];
    for (let i = 0; i < UNKEYED / 2; i++) handles.push(await producer.client.enqueue('echo', i));
    handles.push(
      ...(await producer.client.enqueueMany(
        Array.from({ length: UNKEYED / 2 }, (_, i) => ({ name: 'echo', payload: `many-${i}` })),
      )),
    );
    for (let i = 0; i < KEYS; i++) handles.push(await producer.client.enqueue('echo', `k${i}`, { key: `k${i}` }));
    const partitionOf = (h: TaskHandle) => h.toJSON().partition ?? 0;
    expect(new Set(handles.map(partitionOf)).size).toBe(P);
    // The fleet reads sum every partition's slot too.
    expect(await producer.client.counts()).toMatchObject({ waiting: UNKEYED + KEYS, running: 0 });

    await startApp({ prefix, probe, options: options() });
    await startApp({ prefix, probe, options: options() });
    // Keyed tasks enqueued while the workers run: the second of a key waits for the first.
    const replaced: TaskHandle[] = [];
    for (let i = 0; i < KEYS; i++) replaced.push(await producer.client.replace('echo', `r${i}`, { key: `k${i}` }));

    const ids = [...handles.map((h) => h.id), ...replaced.map((h) => h.id)];
    await Promise.all(replaced.map((h) => h.result()));
    await waitFor(() => handles.filter((h) => !h.key).every((h) => completed.has(h.id)), {
      timeoutMs: 60_000,
      description: 'every unkeyed task completed',
    });

    expect(replaced.filter((h) => !completed.has(h.id))).toEqual([]);
    expect(overlaps).toEqual([]);
    expect(workersOf.size).toBe(2);
    // Every partition's stream was read to its end by the group, and nothing is left pending.
    const groupOf = async (stream: string) => {
      const [group] = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      return Object.fromEntries(Array.from({ length: group.length / 2 }, (_, i) => [group[2 * i], group[2 * i + 1]]));
    };
    await waitFor(
      async () => (await Promise.all(partitions.all.map((k) => groupOf(k.stream)))).every((g) => g.pending === 0),
      { timeoutMs: 30_000, description: 'every partition settled' },
    );
    for (const keys of partitions.all) {
      const info = await groupOf(keys.stream);
      const unread = await redis.xrange(keys.stream, `(${String(info['last-delivered-id'])}`, '+');
      expect({ partition: keys.partition, group: info.name, pending: info.pending, unread }).toEqual({
        partition: keys.partition,
        group: CONSUMER_GROUP,
        pending: 0,
        unread: [],
      });
    }
    // counts() sums every partition. Its `waiting` is the group's lag, which Redis 7.0 can count
    // off by one after replace() deleted queued entries (open, issue 12); the exact per-stream
    // check is above.
    expect(await producer.client.counts()).toMatchObject({ running: 0 });
    const ranPartitions = new Set(handles.filter((h) => completed.has(h.id)).map(partitionOf));
    expect(ranPartitions.size).toBe(P);
    process.stderr.write(
      `[partitions] ${ids.length} tasks over ${P} partitions on ${new Set(masters.map((m) => m.port)).size} masters; ` +
        `per worker ${[...workersOf.values()].map((s) => s.size).join('/')}, 0 lost, 0 overlaps\n`,
    );
  }, 120_000);

  it('one busy partition runs up to the concurrency while the other slot groups idle', async () => {
    const prefix = randomPrefix();
    const partitions = new QueuePartitions(prefix, 'default', P);
    const keys = Array.from({ length: 400 }, (_, i) => `busy-${i}`)
      .filter((key) => partitions.forKey(key).partition === 0)
      .slice(0, 8);
    expect(keys).toHaveLength(8);
    const release = new Latch();
    let running = 0;
    let most = 0;
    const probe = new Probe().on('echo', async (payload) => {
      most = Math.max(most, ++running);
      await release.wait();
      running -= 1;
      return payload;
    });
    const app = await startApp({ prefix, probe, options: options() });
    const handles = await Promise.all(keys.map((key) => app.client.enqueue('echo', key, { key })));
    // Before: each of the 6 slot groups held a fixed share of the 8 slots, so partition 0 ran 1.
    await waitFor(() => running === 8, { timeoutMs: 10_000, description: 'all 8 keys of partition 0 run at once' });
    release.open();
    await Promise.all(handles.map((h) => h.result()));
    expect(most).toBe(8);
  }, 60_000);
});
