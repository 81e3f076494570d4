import { RedisUnreachableError } from '../../../lib';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp } from '../../fixtures/test-app';
import { outcomeWithin } from '../../utils/outcome-within';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix, waitFor } from '../../utils/redis';

/** Far past an at-once rejection: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

/*
 * A call made while every node of the cluster is unreachable waits in the Cluster's offline queue
 * (bounded by offlineTimeoutMs: offline-bound.spec.ts). When the Cluster's clusterRetryStrategy
 * gives up before that bound, the Cluster ends and flushes that queue with ioredis's bare
 * `None of startup nodes is available`: no code, no `mayHaveRun`, where the same call rejected a
 * moment later (after the end) or by the bound is a RedisUnreachableError.
 */
describe('a call queued while the Cluster reconnects, when its clusterRetryStrategy gives up', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    await closeApps();
    await cluster.stop();
  });

  it('rejects with RedisUnreachableError, never sent, its cause ioredis’s give-up', async () => {
    let giveUp = false;
    const producer = await startApp({
      prefix: randomPrefix(),
      options: {
        worker: false,
        // Far longer than the spec: the end, not the bound, settles the call.
        offlineTimeoutMs: 60_000,
        connection: {
          cluster: { nodes: cluster.nodes, options: { clusterRetryStrategy: () => (giveUp ? null : 100) } },
        },
      },
    });
    // The Cluster's own offline queue (internal), where a call waits while it reconnects.
    const commands = producer.app.get(RedisConnections).commands as unknown as {
      status: string;
      offlineQueue: { length: number };
    };
    for (const server of cluster.servers) await server.kill('SIGKILL');
    await waitFor(() => commands.status !== 'ready', { timeoutMs: 10_000, intervalMs: 5 });

    const queued = producer.client.enqueue('echo', 'queued');
    queued.catch(() => undefined); // read below
    await waitFor(() => commands.offlineQueue.length > 0, { description: "the call in the Cluster's offline queue" });
    giveUp = true;
    await waitFor(() => commands.status === 'end', { timeoutMs: 10_000, description: 'the Cluster ended' });

    const outcome = await outcomeWithin(queued, SETTLED_WITHIN_MS);
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect(outcome).toMatchObject({ code: 'REDIS_UNREACHABLE', mayHaveRun: false });
    expect((outcome as Error).message).toMatch(/never sent/);
    expect(((outcome as Error).cause as Error)?.message).toBe('None of startup nodes is available');
  }, 60_000);
});
