import type { Cluster } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { outcomeWithin } from '../../utils/outcome-within';

/** offlineTimeoutMs here: short, so a spec that waits past it stays short. */
const BOUND_MS = 1_000;
/** Generous: timers on a loaded 2-core machine, the bound's checks. */
const SLACK_MS = 4_000;

/*
 * offlineTimeoutMs bounded only a single node's command connection: on a cluster, a call made
 * while the ioredis Cluster is not ready (every node unreachable, the Cluster reconnecting by its
 * clusterRetryStrategy, for ever by default) waited in the Cluster's offline queue, which no
 * maxRetriesPerRequest empties, until the cluster came back. It now rejects within the bound,
 * with a RedisUnreachableError saying it was never sent.
 */
describe('a call while the whole cluster is unreachable', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    await closeApps();
    await cluster.stop();
  });

  it('rejects an enqueue queued while the Cluster reconnects, within offlineTimeoutMs', async () => {
    const producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { cluster: { nodes: cluster.nodes } }, offlineTimeoutMs: BOUND_MS },
    });
    const commands = producer.app.get(RedisConnections).commands as unknown as Cluster;
    for (const server of cluster.servers) await server.kill('SIGKILL');
    await waitFor(() => commands.status !== 'ready', { timeoutMs: 10_000, intervalMs: 5 });

    const outcome = await outcomeWithin(producer.client.enqueue('echo', 'never-sent'), BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect((outcome as RedisUnreachableError).message).toMatch(/never sent.*nothing was written/);
    // Back, so that the Cluster reconnects and closes as usual.
    for (const server of cluster.servers) await server.restart();
    await cluster.waitHealthy();
    await waitFor(() => commands.status === 'ready', { timeoutMs: 20_000 });
  }, 60_000);
});
