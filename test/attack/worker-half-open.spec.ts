import { QueueClient } from '../../lib';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';
import { testOptions } from '../fixtures/test-app';
import { HalfOpenProxy } from '../utils/half-open-proxy';
import { Latch } from '../utils/helpers';
import { closeAll, createRedis, redisUrl, waitFor } from '../utils/redis';

/*
 * Every connection of a worker goes half-open (a NAT or load balancer that lost its state, a
 * peer gone without a FIN): what it sends is swallowed, nothing comes back, and the socket stays
 * open, so neither ioredis nor the OS notices (through a proxy that still acknowledges, never).
 * The heartbeat thread drops its connection when a beat goes unanswered and beats on a new one,
 * so the worker keeps its lease and no other worker takes its runs over. Its settles and its
 * reads must not wait for ever on the dead connections meanwhile: that worker would hold its
 * runs, pending and leased, and read nothing, for good.
 */
describe('attack: a worker whose connections went half-open', () => {
  const { proxy, redis } = halfOpenSuite();

  it('settles its run in flight and reads new tasks on new connections', async () => {
    const { app, keys } = await workerBehind(proxy, { concurrency: 2 });
    const client = app.moduleRef.get(QueueClient);
    const gate = new Latch();
    app.probe.on('echo', async (payload) => {
      if (payload === 'in flight') await gate.wait();
      return payload;
    });
    const inFlight = await client.enqueue('echo', 'in flight');
    await waitFor(() => app.probe.runs.length === 1, { description: 'the run started' });

    proxy.blackholeExisting();
    gate.open();
    // Enqueued past the worker's connections: the worker must read it.
    const later = await redis.xadd(keys.stream, '*', 'id', 'later-task', 'n', 'echo', 'p', JSON.stringify('later'));
    expect(later).toBeTruthy();

    await waitFor(async () => (await redis.exists(keys.result(inFlight.id))) === 1, {
      timeoutMs: 15_000,
      description: 'the run in flight settled',
    });
    await waitFor(() => app.probe.runs.some((r) => r.payload === 'later'), {
      timeoutMs: 15_000,
      description: 'the task added after the cut was read and run',
    });
    expect(app.probe.countsById().get(inFlight.id)).toBe(1);
  }, 40_000);
});

describe('attack: a worker whose control connection went half-open', () => {
  const proxy = new HalfOpenProxy();
  afterEach(closeHostileApps);
  afterAll(async () => {
    await proxy.stop();
    await closeAll();
  });

  it("a replace() made meanwhile still aborts the older run's handler", async () => {
    const redis = createRedis(); // made here: the block above closed every connection made before
    const { app, prefix } = await workerBehind(proxy);
    let aborted: unknown;
    app.probe.on('echo', async (_payload, ctx) => {
      await new Promise<void>((resolve) => {
        const fallback = setTimeout(resolve, 15_000);
        ctx.signal.addEventListener('abort', () => {
          aborted = ctx.signal.reason;
          clearTimeout(fallback);
          resolve();
        });
      });
    });
    await app.moduleRef.get(QueueClient).enqueue('echo', 'runs until aborted', { key: 'k' });
    await waitFor(() => app.probe.runs.length === 1, { description: 'the run started' });

    // Only the subscriber goes silent: the lease holds, so only the notice can abort the run.
    const [addr] = ((await redis.client('LIST')) as string)
      .split('\n')
      .filter((line) => / sub=[1-9]/.test(line) && line.includes(` laddr=127.0.0.1:${new URL(redisUrl()).port} `))
      .map((line) => /\baddr=(\S+)/.exec(line)![1])
      .filter((a) => proxy.carries(a));
    expect(addr).toBeDefined();
    proxy.blackholeUpstream(addr);
    // Made past the worker's connections; its notice goes into the dead subscriber connection.
    const producer = await buildApp(testOptions(prefix, { worker: false }));
    await producer.init();
    await producer.moduleRef.get(QueueClient).replace('echo', 'newer', { key: 'k' });

    await waitFor(() => aborted !== undefined, { timeoutMs: 10_000, description: "the older run's signal aborted" });
    expect(String((aborted as Error).message)).toMatch(/superseded/);
  }, 30_000);
});
