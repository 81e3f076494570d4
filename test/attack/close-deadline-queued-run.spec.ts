import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';

/** XPENDING's extended rows: [entry id, owner, idle ms, deliveries]. */
type PendingRow = [string, string, number, number];

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
      if (payload === 'stuck') await stuck.wait(); // ignores ctx.signal
      return payload;
    });
    const options = { maxDeliveries: 1, concurrency: 1, shutdownTimeoutMs: 200 };
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, worker: false } });
    const { keys } = producer;
    // A worker that read the stuck run and died (its count given back to 0, as an unstarted run's is).
    await producer.client.enqueue('once', 'stuck');
    await env.redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const [[, [[stuckEntry]]]] = (await env.redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'ghost',
      'COUNT',
      1,
      'STREAMS',
      keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    await env.redis.xclaim(keys.stream, CONSUMER_GROUP, 'ghost', 0, stuckEntry, 'RETRYCOUNT', 0, 'JUSTID');
    await env.redis.set(keys.alive('ghost'), '1', 'PX', 60_000);

    // One slot; its read blocks for 5 s, holding it. The ghost dies meanwhile: a sweep takes its
    // run beside the read, and the run starts.
    const worker = await startApp({ prefix: env.prefix, probe: env.probe, options: { ...options, blockMs: 5_000 } });
    await sleep(300);
    await env.redis.del(keys.alive('ghost'));
    await waitFor(() => env.probe.runs.length === 1, { description: 'the stuck run started' });
    // The blocked read answers with the next task: admitted, it waits for the only slot.
    const queued = await producer.client.enqueue('once', 'queued');
    await waitFor(
      async () => {
        const rows = (await env.redis.xpending(keys.stream, CONSUMER_GROUP, '-', '+', 10)) as PendingRow[];
        return rows.some(([id]) => id === queued.entryId);
      },
      { description: 'the queued run read' },
    );

    try {
      await worker.close();
      expect(env.probe.runs.map((r) => r.payload)).toEqual(['stuck']);

      // Its handler was never called: a new worker runs it; the stuck run, which did start, is poison.
      await startApp({ prefix: env.prefix, probe: env.probe, options });
      await expect(queued.result({ timeoutMs: 5_000 })).resolves.toBe('queued');
      const dead = await env.redis.xrange(keys.deadLetter, '-', '+');
      expect(dead.map(([, fields]) => fields[fields.lastIndexOf('entry') + 1])).toEqual([stuckEntry]);
    } finally {
      stuck.open();
    }
  }, 30_000);
});
