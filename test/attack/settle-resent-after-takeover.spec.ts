import { QueueClient, StreamQueueEvents, type StreamQueueEvent } from '../../lib';
import { buildApp } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { Latch } from '../utils/helpers';
import { waitFor } from '../utils/redis';

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
});
