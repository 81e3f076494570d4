import { Registry } from 'prom-client';
import { QueueClient, StreamQueueEvents, type StreamQueueEvent } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { ProbeModule } from '../fixtures/probe.module';
import { Probe } from '../fixtures/probe';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { Latch } from '../utils/helpers';
import { waitFor } from '../utils/redis';

/*
 * Review finding: stream_queue_tasks_total counts a run's outcome from the Settler's events. A
 * failed run whose fail call Redis ran but whose reply was lost (ioredis resent it on its next
 * connection, where it answered "no longer pending") is this worker's own settle: a completion
 * on that path is reported completed (settle-reply-lost.spec), but a failure was reported with
 * no event at all (Settler.reportFailed returns early on "not-pending" when the call was its
 * own), so the metrics never counted its retry or its dead letter: 0 where 1 was due, for both.
 * The metrics cannot count a run no event reports: the Settler now reports the verdict the call
 * was sent for (settle-calls.ts intendedFailVerdict) when Redis proves the call its own.
 */
describe('attack: metrics of a failed run whose settle reply was lost', () => {
  const { proxy, redis } = halfOpenSuite();

  async function counted(registry: Registry, task: string, outcome: string): Promise<number> {
    const { values } = await registry.getSingleMetric(METRIC_NAMES.tasks)!.get();
    const series = values.find((v) => v.labels.task === task && v.labels.outcome === outcome);
    return series?.value ?? 0;
  }

  it.each([
    ['once', 'dead_lettered', 'dead-lettered'],
    ['doomed', 'retried', 'retry-scheduled'],
  ] as const)(
    'a %s run whose fail reply was lost is counted %s exactly once',
    async (task, outcome, event) => {
      const registry = new Registry();
      const probe = new Probe();
      const { app, keys } = await workerBehind(
        proxy,
        {},
        {
          probe,
          imports: [ProbeModule.register(probe), StreamQueueMetricsModule.forRoot({ registry, queues: ['default'] })],
        },
      );
      const events = app.moduleRef.get(StreamQueueEvents);
      const seen: StreamQueueEvent[] = [];
      for (const type of ['failed', 'retry-scheduled', 'dead-lettered', 'completion-refused'] as const) {
        events.on(type, (e) => void seen.push(e));
      }
      const gate = new Latch();
      let runs = 0;
      probe.on(task, async (_payload, ctx) => {
        // A retry stays running until the worker stops: one settle only.
        if (++runs > 1) return new Promise((_, reject) => ctx.signal.addEventListener('abort', reject));
        await gate.wait();
        throw new Error('broken');
      });
      const handle = await app.moduleRef.get(QueueClient).enqueue(task, {});
      await waitFor(() => runs === 1, { description: 'the run started' });

      // The heartbeat's replies are lost too: should its key lapse before a beat on a new
      // connection renews it (a new value), a takeover was possible and the run is not its own.
      const alive = keys.alive(app.moduleRef.get(ConsumerHost).consumerName);
      const held = await redis.get(alive);
      proxy.loseRepliesOfExisting();
      gate.open();
      // Redis ran the fail call: the entry left the stream's pending list, its reply never came back.
      const settled = async () =>
        task === 'once'
          ? (await redis.xlen(keys.deadLetter)) === 1
          : (await redis.zcard(keys.delayed)) + (await redis.xlen(keys.stream)) === 1 || runs > 1;
      await waitFor(settled, { description: 'the fail call ran' });
      // Settles go in order, a retried one first: once a later run's completion is reported, the
      // failed run's settle has been answered (on the worker's next connection) and reported.
      const client = app.moduleRef.get(QueueClient);
      expect(await (await client.enqueue('echo', 'after')).result({ timeoutMs: 10_000 })).toBe('after');
      if ((await redis.get(alive)) !== held) {
        expect(seen.map((e) => [e.type, e.taskId])).toEqual([['completion-refused', handle.id]]);
        return;
      }
      expect(await counted(registry, task, outcome)).toBe(1);
      expect(seen.map((e) => [e.type, e.taskId])).toEqual([
        ['failed', handle.id],
        [event, handle.id],
      ]);
    },
    30_000,
  );
});
