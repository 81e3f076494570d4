import { TaskCancelledError } from '../../../lib';
import { within } from '../../fixtures/hostile-tasks';
import { useProxiedCluster } from '../../fixtures/proxied-cluster';
import { startApp } from '../../fixtures/test-app';
import { randomPrefix } from '../../utils/redis';

/*
 * Found by the newest-code review: on a cluster, result() listens through the connection ioredis
 * keeps outside its node pool for subscriptions. When it ends (its node restarted or failed over,
 * the connection killed or dropped), ioredis picks another node and subscribes again, but says
 * nothing: the waits never read their state again, as they do on one node when the subscriber
 * is 'ready' again, so a completion published in between was lost, and the wait ended in
 * TaskTimeoutError (or, with timeoutMs Infinity, never) for a task that had settled.
 */
describe('result() on a cluster whose subscriber connection is replaced', () => {
  const env = useProxiedCluster();

  /**
   * Kills the one subscriber connection on the cluster (a client of type pubsub subscribed to
   * something), makes every new connection through the proxies take a while to reach Redis, and
   * runs `meanwhile` before its next one is subscribed.
   */
  const killSubscriberThen = async (meanwhile: () => Promise<unknown>) => {
    let subscriber: { port: number; id: string } | undefined;
    for (const end = Date.now() + 10_000; !subscriber && Date.now() < end;) {
      for (const node of env.direct.nodes('master')) {
        const line = ((await node.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
          .split('\n')
          .find((l) => / sub=[1-9]/.test(l));
        if (line) subscriber = { port: node.options.port!, id: /\bid=(\d+)/.exec(line)![1] };
      }
      if (!subscriber) await new Promise((r) => setTimeout(r, 50));
    }
    expect(subscriber).toBeDefined();
    for (const node of env.cluster.nodes) env.proxies.of(node.port).delayNew(1_500);
    try {
      const killer = env.direct.nodes('master').find((n) => n.options.port === subscriber!.port)!;
      await killer.call('CLIENT', 'KILL', 'ID', subscriber!.id);
      await meanwhile();
    } finally {
      for (const node of env.cluster.nodes) env.proxies.of(node.port).delayNew(0);
    }
  };

  it('hears of a task cancelled while the new subscriber connected', async () => {
    const prefix = randomPrefix();
    const waiter = await startApp({ prefix, options: env.behindProxies({ worker: false }) });
    const other = await startApp({ prefix, options: env.straight({ worker: false }) });
    const key = `k-${prefix}`;
    const handle = await waiter.client.enqueue('echo', 'x', { key });
    const result = handle.result({ timeoutMs: 60_000 }).catch((error: unknown) => error);
    // Its next connection takes a while to reach Redis; the task is cancelled meanwhile.
    await killSubscriberThen(async () => expect(await other.client.cancel(key)).toBe(true));

    expect(await within(result, 10_000, 'result() after the subscriber was replaced')).toBeInstanceOf(
      TaskCancelledError,
    );
  }, 60_000);

  // The worker's control subscription (replace() and cancel() notices, pauses) is the same kind
  // of connection: a notice lost while it was replaced left a superseded run running, unasked.
  it("a worker's run superseded while its control subscriber was replaced is told so", async () => {
    const prefix = randomPrefix();
    const worker = await startApp({ prefix, options: env.behindProxies() });
    const other = await startApp({ prefix, options: env.straight({ worker: false }) });
    const key = `k-${prefix}`;
    let aborted: unknown;
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    worker.probe.on('echo', (payload, ctx) => {
      if (payload !== 'first') return payload;
      running();
      return new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          aborted = ctx.signal.reason;
          resolve('stopped');
        }),
      );
    });
    await other.client.enqueue('echo', 'first', { key });
    await within(started, 10_000, 'the first run started');
    await killSubscriberThen(() => other.client.replace('echo', 'second', { key }));
    const told = (async () => {
      while (aborted === undefined) await new Promise((r) => setTimeout(r, 50));
    })();
    await within(told, 10_000, 'the superseded run told so');
    expect(aborted).toMatchObject({ code: 'SUPERSEDED' });
  }, 60_000);
});
