import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * The oldest waiting age (counts().oldestWaitingMs, the stream_queue_oldest_waiting_seconds
 * gauge, the health check's maxWaitingMs) is how a fleet that runs nothing is noticed: its
 * tasks wait, and age. A delayed task (a delayMs or runAt, a retry's backoff, a periodic
 * successor) waits in the delayed set until a worker promotes it; once due, it waits to run as
 * an enqueued task does. The age read the stream and the waiting room alone: with every worker
 * down, a queue whose tasks came delayed read null for good (the gauge 0, the health check up)
 * while the same tasks enqueued without a delay read their age. A review finding; the spec failed.
 */
describe('attack: the oldest waiting age of delayed tasks past their due time', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const registry = new Registry();
  // Producer-only: no worker promotes, as when every worker of the queue is down.
  const t = producerAppForSuite(prefix, redis, [
    StreamQueueHealthModule,
    TerminusModule,
    StreamQueueMetricsModule.forRoot({ registry, queues: ['default'] }),
  ]);
  afterEach(() => redis.del(t.keys.delayed, t.keys.stream));

  /** Redis's clock, in ms (the ages are Redis's). */
  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  /** The delayed set's first due time, as Redis holds it. */
  const firstDue = async () => Number((await redis.zrange(t.keys.delayed, 0, 0, 'WITHSCORES'))[1]);
  const gauge = async () =>
    (await registry.getSingleMetric(METRIC_NAMES.oldestWaiting)!.get()).values.find((v) => v.labels.queue === 'default')
      ?.value;

  it('a delayed task due 300 ms ago, never promoted, has waited 300 ms', async () => {
    await t.client.enqueue('echo', 1, { delayMs: 50 });
    const due = await firstDue();
    await waitFor(async () => (await redisNow()) >= due + 300);

    const before = await redisNow();
    const counts = await t.client.counts();
    expect(counts).toMatchObject({ waiting: 0, delayed: 1, nextDueInMs: 0 });
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(before - due);
    expect((await t.client.inspect()).oldestWaitingMs).toBeGreaterThanOrEqual(before - due);
    expect(await gauge()).toBeGreaterThanOrEqual((before - due) / 1000);
    const health = await t.app.get(StreamQueueHealthIndicator).isHealthy('q', { queue: 'default', maxWaitingMs: 200 });
    expect(health.q).toMatchObject({ status: 'down' });
    expect(health.q.message).toMatch(/queue "default"'s oldest waiting task is \d+ ms old \(limit 200 ms\)/);
  });

  it('control: the same task enqueued without a delay reads its age', async () => {
    await t.client.enqueue('echo', 1);
    const at = await redisNow();
    await waitFor(async () => (await redisNow()) >= at + 300);
    expect((await t.client.counts()).oldestWaitingMs).toBeGreaterThanOrEqual(300);
  });

  it('control: a delayed task not yet due is not waiting', async () => {
    await t.client.enqueue('echo', 1, { delayMs: 60_000 });
    expect(await t.client.counts()).toMatchObject({ delayed: 1, oldestWaitingMs: null });
    const health = await t.app.get(StreamQueueHealthIndicator).isHealthy('q', { queue: 'default', maxWaitingMs: 0 });
    expect(health.q).toMatchObject({ status: 'up' });
  });
});
