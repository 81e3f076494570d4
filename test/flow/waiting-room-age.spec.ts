import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { StreamQueueHealthIndicator, StreamQueueHealthModule } from '../../lib/terminus';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { sleep, waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * The oldest waiting age (counts().oldestWaitingMs, the stream_queue_oldest_waiting_seconds gauge,
 * the health check's maxWaitingMs) counts the tasks waiting in the flow waiting room for a slot.
 * It read the stream alone: a queue whose limited tasks starved for hours, its stream empty
 * because the slot holder was running, read null (the gauge 0, the health check up).
 */
describe('the oldest waiting age of tasks waiting for a slot', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  /** Redis's clock, in ms (the ages are Redis's). */
  const redisNow = async () => {
    const [s, us] = await env.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('counts() and inspect() age the room by entry, not by rank; remove() and admission end it', async () => {
    const registry = new Registry();
    const a = await startApp({
      prefix: env.prefix,
      imports: [
        FlowTasksModule,
        StreamQueueHealthModule,
        TerminusModule,
        StreamQueueMetricsModule.forRoot({ registry }),
      ],
    });
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    // The stream holds nothing unread: the only run is running, the rest wait for its slot.
    const first = await a.client.enqueue('flow.one', { w: 1 }, { priority: 9 });
    const firstIn = await redisNow();
    await sleep(60);
    const secondBefore = await redisNow();
    // Better ranked, so the room's first member, but younger.
    const second = await a.client.enqueue('flow.one', { w: 2 }, { priority: 1 });
    await sleep(20);

    const before = await redisNow();
    const counts = await a.client.counts();
    expect(counts).toMatchObject({ waiting: 2, waitingForSlot: 2, running: 1 });
    expect(counts.oldestWaitingMs).not.toBeNull();
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(before - firstIn);
    expect((await a.client.inspect()).oldestWaitingMs).toBeGreaterThanOrEqual(before - firstIn);

    const gauge = await registry.getSingleMetric(METRIC_NAMES.oldestWaiting)!.get();
    expect(gauge.values.find((v) => v.labels.queue === 'default')?.value).toBeGreaterThanOrEqual(
      (before - firstIn) / 1000,
    );
    const health = await a.app
      .get(StreamQueueHealthIndicator)
      .isHealthy('q', { queue: 'default', maxWaitingMs: Math.max(0, before - firstIn - 1) });
    expect(health.q).toMatchObject({ status: 'down' });
    expect(health.q.message).toMatch(/queue "default"'s oldest waiting task is \d+ ms old/);

    // The first removed: the second is the oldest now.
    await a.client.remove(first.id);
    const after = await a.client.counts();
    const afterAt = await redisNow();
    expect(after.oldestWaitingMs).not.toBeNull();
    expect(after.oldestWaitingMs).toBeLessThanOrEqual(afterAt - secondBefore);

    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await second.result({ timeoutMs: 10_000 });
    // Admitted and run: nothing waits, in the stream or the room.
    expect((await a.client.counts()).oldestWaitingMs).toBeNull();
  });

  it('list() and findTask() say when a waiting task entered the room (`at`), as they do for the stream', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const before = await redisNow();
    const waiting = await a.client.enqueue('flow.one', { w: 1 }, { group: 'G' });
    const after = await redisNow();

    const [listed] = (await a.client.list('queued')).tasks;
    expect(listed).toMatchObject({ id: waiting.id, waitingForSlot: true });
    expect(listed.at?.getTime()).toBeGreaterThanOrEqual(before);
    expect(listed.at?.getTime()).toBeLessThanOrEqual(after);
    expect((await a.client.findTask(waiting.id)).task?.at).toEqual(listed.at);

    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await waiting.result({ timeoutMs: 10_000 });
  });
});
