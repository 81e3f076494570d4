import { QueueClient, StreamQueueEvents, type StreamQueueEvent } from '../../lib';
import { monotonicMs } from '../../lib/consumer/lease';
import { Settler } from '../../lib/consumer/settler';
import { buildApp } from '../fixtures/hostile-tasks';
import { loneLeaseKeeper } from '../fixtures/lone-lease-keeper';
import { definitionOf, settleContext } from '../fixtures/settle-context';
import { testOptions } from '../fixtures/test-app';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { Latch } from '../utils/helpers';
import { createRedis, randomPrefix, redisUrl, waitFor } from '../utils/redis';

/*
 * A settle sent into a connection that went silent (requests lost) reaches Redis only when
 * ioredis resends it on the next connection. By then the worker's lease has lapsed, another
 * worker has taken the run over and settled it, and the resent call answers "not pending": that
 * is the other worker's settle, not this one's. Reporting it completed (as a reply lost after
 * Redis ran the call is) counts one run's completion twice, once by a worker that wrote nothing.
 */
describe('attack: a settle resent after its run was taken over and settled elsewhere', () => {
  const { proxy, redis } = halfOpenSuite();

  it('is reported refused by the worker whose call wrote nothing, completed by the one that settled', async () => {
    const first = await workerBehind(proxy);
    const seen: Array<[string, StreamQueueEvent]> = [];
    const watch = (who: string, events: StreamQueueEvents) => {
      events.on('completed', (e) => void seen.push([who, e]));
      events.on('completion-refused', (e) => void seen.push([who, e]));
    };
    watch('first', first.app.moduleRef.get(StreamQueueEvents));
    const gate = new Latch();
    first.app.probe.on('echo', async (payload) => {
      await gate.wait();
      return payload;
    });
    const handle = await first.app.moduleRef.get(QueueClient).enqueue('echo', 'once');
    await waitFor(() => first.app.probe.runs.length === 1, { description: 'the run started' });

    // Every byte of the first worker's connections is lost from now on, and it cannot connect
    // anew: its settle does not reach Redis, and its beats stop, so its lease lapses.
    proxy.blackholeExisting();
    proxy.refuseNew();
    gate.open();
    const second = await buildApp(testOptions(first.prefix, { leaseMs: 1_000, heartbeatIntervalMs: 200 }));
    watch('second', second.moduleRef.get(StreamQueueEvents));
    await second.init();
    await waitFor(async () => (await redis.exists(first.keys.result(handle.id))) === 1, {
      timeoutMs: 15_000,
      description: 'the second worker took the run over and settled it',
    });
    await waitFor(() => seen.some(([who]) => who === 'second'), { description: 'the second worker reported it' });
    // The first worker's watchdog has dropped its silent connection: once Redis can be reached
    // again, ioredis resends the settle.
    proxy.acceptNew();
    await waitFor(() => seen.some(([who]) => who === 'first'), {
      timeoutMs: 15_000,
      description: 'the first worker reported its settle',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map(([who, e]) => [who, e.type, e.taskId])).toEqual([
      ['second', 'completed', handle.id],
      ['first', 'completion-refused', handle.id],
    ]);
  }, 45_000);

  // A resent settle counts as the worker's own whatever value its key holds, if the key has
  // existed without a break since the run was proven its own: here it was written anew after the
  // takeover, then given yet another value (a renewal), and the fence must hold all the same.
  it('is refused when the key, written anew after the takeover, changed its value again before the resend', async () => {
    const port = await proxy.start();
    const prefix = randomPrefix();
    const settling = createRedis({}, `redis://127.0.0.1:${port}`); // the zombie's commands
    const base = await settleContext(settling, prefix);
    const alive = base.keys.alive(base.ctx.consumer);
    const { hostname, port: redisPort } = new URL(redisUrl());
    const keeper = loneLeaseKeeper({ host: hostname, port: Number(redisPort || 6379) }, alive, { intervalMs: 100 });
    try {
      await keeper.start();
      const ctx = { ...base.ctx, lease: keeper };
      const refused: StreamQueueEvent[] = [];
      ctx.events.on('completed', (e) => void refused.push(e));
      ctx.events.on('completion-refused', (e) => void refused.push(e));
      const delivery = await base.delivered(['id', 'zombie', 'n', 'echo', 'p', '"x"']);
      delivery.provenAt = monotonicMs();
      const created = await redis.get(alive);

      // Its settle goes into a silent connection; meanwhile the key lapses, another worker takes
      // the run over and settles it.
      proxy.blackholeExisting();
      const settled = new Settler(ctx).settle([
        { kind: 'completed', delivery, definition: definitionOf('echo'), result: '"x"', resultTtlMs: 60_000 },
      ]);
      const { entryId } = delivery.message;
      await redis
        .multi()
        .del(alive)
        .xclaim(base.keys.stream, 'workers', 'other', 0, entryId)
        .xack(base.keys.stream, 'workers', entryId)
        .xdel(base.keys.stream, entryId)
        .exec();
      await waitFor(async () => ![null, created].includes(await redis.get(alive)), {
        description: 'the key written anew',
      });
      const rewritten = await redis.get(alive);
      keeper.renewIncarnation();
      await waitFor(async () => ![null, created, rewritten].includes(await redis.get(alive)), {
        description: 'the key given another value, with no lapse',
      });

      // The silent connection dropped: ioredis resends the settle, which finds the run settled.
      settling.disconnect(true);
      await expect(settled).resolves.toEqual([]);
      expect(refused.map((e) => [e.type, e.taskId, e.detail])).toEqual([
        ['completion-refused', 'zombie', 'not-pending'],
      ]);
      expect(await redis.exists(base.keys.result('zombie'))).toBe(0);
    } finally {
      await keeper.stop(true);
    }
  }, 20_000);
});
