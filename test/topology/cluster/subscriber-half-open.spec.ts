import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { FleetEvent, StreamQueueModuleOptions } from '../../../lib';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { within } from '../../fixtures/hostile-tasks';
import { useProxiedCluster } from '../../fixtures/proxied-cluster';
import { startApp, type TestApp } from '../../fixtures/test-app';
import { Latch } from '../../utils/latch';
import { randomPrefix, waitFor } from '../../utils/redis';

/*
 * On a cluster, an ioredis Cluster carries its SUBSCRIBEs on one connection of its own to one
 * node, outside its node pool (ioredis's ClusterSubscriber): a worker's control subscription
 * (replace() and cancel() notices), a producer's results subscriber (the done messages
 * result() waits for) and an events() subscriber (the fleet's events). Gone half-open (a NAT or load balancer that lost its state), it hears
 * nothing, silently, until TCP gives up: a cancelled run goes on, a result() waits its whole
 * timeout, events() delivers nothing. It is watched as every other connection is (reply-watchdog.ts): unanswered for a lease
 * while nothing at all arrives, dropped; ioredis subscribes again on a new one, and what was
 * published meanwhile is read again (a keyed run in flight checks its key, a wait its task; the
 * fleet's events of meanwhile are lost, as the README says).
 */
describe('a subscriber connection of a cluster client gone half-open', () => {
  const leaseMs = 2_000;
  const env = useProxiedCluster();
  beforeAll(() => env.direct.ping());

  /** Connected to every node through its proxy, watched at a short lease. */
  const behindProxies = (overrides: Partial<StreamQueueModuleOptions>): Partial<StreamQueueModuleOptions> =>
    env.behindProxies({ leaseMs, heartbeatIntervalMs: 250, ...overrides });

  /** The subscribed connections (CLIENT LIST's sub=) that reach a node through a proxy, by node port. */
  const subscribersBehindProxies = async (): Promise<{ port: number; addr: string }[]> => {
    const found: { port: number; addr: string }[] = [];
    for (const node of env.direct.nodes('all') as Redis[]) {
      const port = node.options.port!;
      const list = (await node.client('LIST')) as string;
      for (const line of list.split('\n')) {
        const addr = /\baddr=(\S+)/.exec(line)?.[1];
        if (addr && / sub=[1-9]/.test(line) && env.proxies.of(port).carries(addr)) found.push({ port, addr });
      }
    }
    return found;
  };
  /** Only the one subscriber behind the proxies goes silent: every node connection still answers. */
  const cutTheSubscriber = async (): Promise<void> => {
    let subscribers: { port: number; addr: string }[] = [];
    await waitFor(async () => (subscribers = await subscribersBehindProxies()).length > 0, {
      description: 'the subscriber connected',
    });
    expect(subscribers).toHaveLength(1);
    env.proxies.of(subscribers[0].port).blackholeUpstream(subscribers[0].addr);
  };

  /** `app`'s handler of 'echo' runs until its signal aborts; resolves with the reason of each run's abort. */
  const runUntilAborted = (app: TestApp): Map<string, Promise<unknown>> => {
    const aborts = new Map<string, Promise<unknown>>();
    app.probe.on('echo', (payload, ctx) => {
      const aborted = new Promise<unknown>((resolve) => {
        const fallback = setTimeout(() => resolve('never aborted'), 30_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(fallback);
          resolve(ctx.signal.reason);
        });
      });
      aborts.set(String(payload), aborted);
      return aborted;
    });
    return aborts;
  };

  it("a worker hears cancel() again: the notice sent into the dead connection, then a later one's", async () => {
    const prefix = randomPrefix();
    const worker = await startApp({ prefix, options: behindProxies({}) });
    const producer = await startApp({ prefix, options: env.straight({ worker: false }) });
    const aborts = runUntilAborted(worker);
    await producer.client.enqueue('echo', 'first', { key: 'first' });
    await waitFor(() => aborts.has('first'), { description: 'the first run started' });

    await cutTheSubscriber();
    // Its notice goes into the dead connection: only the drop and the re-read of the key can tell the worker.
    expect(await producer.client.cancel('first')).toBe(true);
    const reason = await within(aborts.get('first')!, 3 * leaseMs, "the cancel() heard by the first run's worker");
    expect(String((reason as Error).message)).toMatch(/cancelled/);

    // Subscribed again: a notice now reaches the worker as it is published (no re-read runs).
    await producer.client.enqueue('echo', 'second', { key: 'second' });
    await waitFor(() => aborts.has('second'), { description: 'the second run started' });
    expect(await producer.client.cancel('second')).toBe(true);
    const second = await within(aborts.get('second')!, leaseMs, "the cancel() heard by the second run's worker");
    expect(String((second as Error).message)).toMatch(/cancelled/);
  }, 60_000);

  it('result() hears the task settle, and a later result() too', async () => {
    const prefix = randomPrefix();
    const gate = new Latch();
    const worker = await startApp({ prefix, options: env.straight({}) });
    worker.probe.on('echo', async (payload) => {
      if (payload === 'held') await gate.wait();
      return payload;
    });
    const producer = await startApp({ prefix, options: behindProxies({ worker: false }) });
    const held = await producer.client.enqueue('echo', 'held');
    const result = held.result({ timeoutMs: 30_000 });
    await waitFor(() => worker.probe.runs.length === 1, { description: 'the held run started' });

    await cutTheSubscriber();
    gate.open(); // its done message goes into the dead connection
    await expect(within(result, 3 * leaseMs, 'the result of the held task')).resolves.toBe('held');

    const later = await producer.client.enqueue('echo', 'later');
    await expect(within(later.result(), leaseMs, 'the result of a task enqueued later')).resolves.toBe('later');
  }, 60_000);

  it('events() hears the fleet again, and its subscriber closes with its watch when unsubscribed', async () => {
    const prefix = randomPrefix();
    const worker = await startApp({ prefix, options: env.straight({}) });
    const watcher = await startApp({ prefix, options: behindProxies({ worker: false }) });
    const received: FleetEvent[] = [];
    let subscription: Subscription | undefined = watcher.client.events().subscribe((e) => received.push(e));
    try {
      /** Runs a task on the worker; whether its completed event reached the subscriber. */
      const heard = async (payload: string): Promise<boolean> => {
        const handle = await worker.client.enqueue('echo', payload);
        await handle.result();
        return waitFor(() => received.some((e) => e.type === 'completed' && e.taskId === handle.id), {
          timeoutMs: 200,
          description: `the completed event of ${payload}`,
        }).then(
          () => true,
          () => false,
        );
      };
      await waitFor(() => heard('before the cut'), { timeoutMs: 10_000, description: 'events before the cut' });

      await cutTheSubscriber();
      let n = 0;
      await waitFor(() => heard(`after the cut ${++n}`), {
        timeoutMs: 3 * leaseMs,
        description: 'an event of a task completed after the cut',
      });

      const connections = watcher.app.get(RedisConnections) as unknown as { watches: Map<unknown, unknown> };
      expect(connections.watches.size).toBe(2); // the command client's and the events subscriber's
      subscription.unsubscribe();
      subscription = undefined;
      expect(connections.watches.size).toBe(1);
      await waitFor(async () => (await subscribersBehindProxies()).length === 0, {
        description: 'the subscriber closed',
      });
    } finally {
      subscription?.unsubscribe();
    }
  }, 60_000);
});
