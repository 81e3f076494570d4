import { useProbeApps } from '../fixtures/probe-apps';
import { runQueuedBehind } from '../fixtures/run-queued-behind';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/helpers';

/*
 * Review finding: a delivery admitted but still queued for a handler slot (a sweep took a dead
 * worker's run beside a blocked read, whose answer then came too: one more than the concurrency)
 * was never given back when app.close() passed shutdownTimeoutMs with the running handler
 * ignoring its signal. It never started, yet its delivery counted: the next worker dead-lettered
 * it as poison at maxDeliveries 1 without its handler ever being called.
 */
describe('attack: app.close() past its deadline, with a run queued behind a handler that ignores its signal', () => {
  const env = useProbeApps();

  it('gives the queued run its delivery back: the next worker runs it (maxDeliveries 1)', async () => {
    const stuck = new Latch();
    env.probe.on('once', async (payload) => {
      if (payload === 'first') await stuck.wait(); // ignores ctx.signal
      return payload;
    });
    const options = { maxDeliveries: 1, shutdownTimeoutMs: 200 };
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, worker: false } });
    const { keys } = producer;
    const { worker, firstEntry, next } = await runQueuedBehind(env, producer, { options }, () =>
      producer.client.enqueue('once', 'queued'),
    );

    try {
      await worker.close();
      expect(env.probe.runs.map((r) => r.payload)).toEqual(['first']);

      // Its handler was never called: a new worker runs it; the stuck run, which did start, is poison.
      await startApp({ prefix: env.prefix, probe: env.probe, options });
      await expect(next.result({ timeoutMs: 5_000 })).resolves.toBe('queued');
      const dead = await env.redis.xrange(keys.deadLetter, '-', '+');
      expect(dead.map(([, fields]) => fields[fields.lastIndexOf('entry') + 1])).toEqual([firstEntry]);
    } finally {
      stuck.open();
    }
  }, 30_000);
});
