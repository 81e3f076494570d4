import type { Cluster, Redis } from 'ioredis';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { within } from '../../fixtures/hostile-tasks';
import { useProxiedCluster } from '../../fixtures/proxied-cluster';
import { startApp } from '../../fixtures/test-app';
import { randomPrefix } from '../../utils/redis';

/*
 * On a cluster, a worker's commands go through an ioredis Cluster, which holds one connection per
 * node. One of them gone half-open (a NAT or load balancer that lost its state) swallows what is
 * sent and answers nothing, and neither ioredis nor the OS notices for many minutes: the worker's
 * settles, sweeps and enqueues to that master's slots wait, while its heartbeat (a connection of
 * its own) keeps its lease, so no other worker takes its runs over. The node connections are
 * watched as a single node's connection is (reply-watchdog.ts): unanswered for a lease while
 * nothing at all arrives, dropped, and the Cluster sends what was unanswered again.
 */
describe('a worker whose node connection to its queue master went half-open', () => {
  const env = useProxiedCluster();

  it('settles a task enqueued by another process within a few leases', async () => {
    const prefix = randomPrefix();
    const leaseMs = 2_000;
    const worker = await startApp({ prefix, options: env.behindProxies({ leaseMs, heartbeatIntervalMs: 250 }) });
    const producer = await startApp({ prefix, options: env.straight({ worker: false }) });
    // The worker's command connection to the queue's master is open and in use.
    await within((await producer.client.enqueue('echo', 'before')).result(), 10_000, 'the task before the cut');

    const master = await env.cluster.masterOf(worker.keys.stream);
    env.proxies.of(master.port).blackholeExisting();
    const after = await producer.client.enqueue('echo', 'after');

    await expect(within(after.result(), 3 * leaseMs, 'the task enqueued after the cut')).resolves.toBe('after');
    expect(worker.probe.runs.filter((r) => r.payload === 'after')).toHaveLength(1);
  }, 40_000);

  it('keeps a node connection that is only busy: its replies keep coming, so nothing it sent runs twice', async () => {
    const prefix = randomPrefix();
    const producer = await startApp({
      prefix,
      options: env.behindProxies({ worker: false, leaseMs: 300, heartbeatIntervalMs: 100 }),
    });
    const commands = producer.app.get(RedisConnections).commands as unknown as Cluster;
    const counter = `{${prefix}}:backlog-runs`;
    const proxied = env.proxies.natMap[`127.0.0.1:${(await env.cluster.masterOf(counter)).port}`];
    const padding = 'x'.repeat(20_000);
    const calls = 200;
    const backlog = (on: Cluster) => {
      const pipeline = on.pipeline();
      for (let i = 0; i < calls; i++) {
        pipeline.eval("redis.call('INCR', KEYS[1]); for i = 1, 3000000 do end; return #ARGV[1]", 1, counter, padding);
      }
      return pipeline.exec();
    };
    // The same backlog on a connection nobody watches outlasts the 300 ms lease twice over.
    const started = performance.now();
    await backlog(env.direct);
    expect(performance.now() - started).toBeGreaterThan(600);
    await env.direct.del(counter);

    await commands.get(counter); // the node connection is open, and watched
    const node = commands.nodes('master').find((n) => n.options.port === proxied.port) as Redis;
    expect(node.status).toBe('ready');
    let closes = 0;
    node.on('close', () => closes++);
    const replies = (await backlog(commands)) ?? [];
    expect(replies.filter(([error]) => error).map(([error]) => String(error))).toEqual([]);
    expect(Number(await env.direct.get(counter))).toBe(calls);
    expect(closes).toBe(0);
    await env.direct.del(counter);
  }, 60_000);
});
