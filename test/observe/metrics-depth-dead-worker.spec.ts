import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { CONSUMER_LIST_LIMIT } from '../../lib/scripts/queue-state.script';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix } from '../utils/redis';
import { useSpecRedis } from '../utils/spec-redis';

/** The depth gauge's samples of queue 'default', as `state -> value`. */
async function depth(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(METRIC_NAMES.depth);
  if (!metric) throw new Error(`${METRIC_NAMES.depth} is not registered`);
  const { values } = await metric.get();
  return Object.fromEntries(
    values.filter((v) => v.labels.queue === 'default').map((v) => [String(v.labels.state), v.value]),
  );
}

/**
 * The depth gauge's `running` was the group's pending list: entries a dead worker read (its lease
 * lapsed, no reclaim has taken them yet, as when every worker is down) counted as running, so a
 * fleet that lost its workers showed its last runs running for as long as none came back. They
 * are now reported apart as `orphaned` (held by a consumer whose lease key is gone), read from
 * the listed consumers' leases: one PTTL per consumer, never one per pending entry.
 */
describe('metrics: the depth gauge and runs held by dead workers', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });

  /** A producer app with the metrics, and two entries read: one by a live worker, one by a dead one. */
  async function heldByLiveAndDead() {
    const registry = new Registry();
    const t = await startApp({
      prefix,
      options: { worker: false },
      imports: [StreamQueueMetricsModule.forRoot({ registry, queues: ['default'] })],
    });
    const { stream } = t.keys;
    await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    await t.client.enqueue('echo', 'held by the dead');
    await t.client.enqueue('echo', 'held by the living');
    await t.client.enqueue('echo', 'waiting');
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead-worker', 'COUNT', 1, 'STREAMS', stream, '>');
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'live-worker', 'COUNT', 1, 'STREAMS', stream, '>');
    await redis.set(t.keys.alive('live-worker'), '1', 'PX', 60_000);
    return { t, registry };
  }

  it("counts a dead worker's entries as orphaned, not running", async () => {
    const { t, registry } = await heldByLiveAndDead();
    expect(await depth(registry)).toEqual({ waiting: 1, delayed: 0, running: 1, orphaned: 1, dead_lettered: 0 });
    // counts() is unchanged: its running is the whole pending list.
    expect((await t.client.counts('default')).running).toBe(2);
  });

  it('counts them as running again once the worker is alive (its lease renewed)', async () => {
    const { t, registry } = await heldByLiveAndDead();
    await redis.set(t.keys.alive('dead-worker'), '1', 'PX', 60_000);
    expect(await depth(registry)).toEqual({ waiting: 1, delayed: 0, running: 2, orphaned: 0, dead_lettered: 0 });
  });

  it(`past ${CONSUMER_LIST_LIMIT} consumers (none listed) counts every pending entry as running, none orphaned`, async () => {
    const { t, registry } = await heldByLiveAndDead();
    const pipeline = redis.pipeline();
    for (let i = 0; i < CONSUMER_LIST_LIMIT; i++)
      pipeline.xgroup('CREATECONSUMER', t.keys.stream, CONSUMER_GROUP, `idle-${i}`);
    await pipeline.exec();
    expect(await depth(registry)).toEqual({ waiting: 1, delayed: 0, running: 2, orphaned: 0, dead_lettered: 0 });
  });
});
