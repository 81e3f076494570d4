import { QueueClient, StreamQueueEvents, type StreamQueueEvent } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { Latch } from '../utils/helpers';
import { waitFor } from '../utils/redis';

/*
 * A settle that Redis ran, whose reply was lost with its connection: ioredis resends it on the
 * next connection, where it answers "not pending" (the first call settled the run). That is
 * this worker's own settle, not a refusal: it must be reported completed, once.
 */
describe('attack: a settle whose reply was lost after Redis ran it', () => {
  const { proxy, redis } = halfOpenSuite();

  it('is reported completed, not refused', async () => {
    const { app, keys } = await workerBehind(proxy);
    const events = app.moduleRef.get(StreamQueueEvents);
    const seen: StreamQueueEvent[] = [];
    events.on('completed', (e) => void seen.push(e));
    events.on('completion-refused', (e) => void seen.push(e));
    const gate = new Latch();
    app.probe.on('echo', async (payload) => {
      await gate.wait();
      return payload;
    });
    const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await waitFor(() => app.probe.runs.length === 1, { description: 'the run started' });

    const alive = keys.alive(app.moduleRef.get(ConsumerHost).consumerName);
    const held = await redis.get(alive); // a lapse between makes completion-refused right (below)
    proxy.loseRepliesOfExisting();
    gate.open();
    await waitFor(async () => (await redis.exists(keys.result(handle.id))) === 1, { description: 'the settle ran' });
    await waitFor(() => seen.length > 0, { timeoutMs: 10_000, description: 'the settle reported' });
    await new Promise((r) => setTimeout(r, 300));
    const unbroken = (await redis.get(alive)) === held;
    expect(seen.map((e) => [e.type, e.taskId])).toEqual([[unbroken ? 'completed' : 'completion-refused', handle.id]]);
  }, 30_000);

  // Its outcome is the one the worker asked for: counters and metrics count the run once. The
  // retry of 'flaky' completes (its events are not listened to): only the first attempt's count.
  it.each([
    ['once', 'dead-lettered'],
    ['flaky', 'retry-scheduled'],
  ])(
    'of a failure of %s is reported failed and %s, once',
    async (task, outcome) => {
      const { app, keys } = await workerBehind(proxy);
      const events = app.moduleRef.get(StreamQueueEvents);
      const seen: StreamQueueEvent[] = [];
      for (const type of ['failed', 'retry-scheduled', 'dead-lettered', 'completion-refused'] as const)
        events.on(type, (e) => void seen.push(e));
      const gate = new Latch();
      app.probe.on(task, async (_payload, ctx) => {
        if (ctx.attempt > 1) return 'second';
        await gate.wait();
        throw new Error('boom');
      });
      const handle = await app.moduleRef.get(QueueClient).enqueue(task, 'once');
      await waitFor(() => app.probe.runs.length === 1, { description: 'the run started' });

      // The heartbeat's replies are lost too: its key may lapse before a beat on a new connection
      // renews it (a new value), and then a takeover was possible, so the worker must not claim it.
      const alive = keys.alive(app.moduleRef.get(ConsumerHost).consumerName);
      const held = await redis.get(alive);
      proxy.loseRepliesOfExisting();
      gate.open();
      await waitFor(
        async () =>
          outcome === 'dead-lettered' ? (await redis.xlen(keys.deadLetter)) === 1 : app.probe.runs.length === 2,
        { timeoutMs: 10_000, description: 'the settle ran' },
      );
      await new Promise((r) => setTimeout(r, 1_500));
      const unbroken = (await redis.get(alive)) === held;
      expect(seen.map((e) => [e.type, e.taskId])).toEqual(
        unbroken
          ? [
              ['failed', handle.id],
              [outcome, handle.id],
            ]
          : [['completion-refused', handle.id]],
      );
    },
    30_000,
  );
});
