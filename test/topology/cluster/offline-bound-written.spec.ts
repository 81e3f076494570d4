import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { outcomeWithin } from '../../utils/outcome-within';
import { writtenTo } from '../../utils/written-commands';

/** offlineTimeoutMs here: short, so a spec that waits past it stays short. */
const BOUND_MS = 1_000;
/** Generous: timers on a loaded 2-core machine, the bound's checks, ioredis's failover delay. */
const SLACK_MS = 6_000;

/*
 * Review finding: a command written to a node whose connection then closed is tried again by the
 * ioredis Cluster (after retryDelayOnFailover); when the whole cluster went meanwhile, that try
 * puts it in the Cluster's offline queue, where offlineTimeoutMs's bound gave it up as "never
 * sent" (mayHaveRun false), though Redis may have run it: an unkeyed enqueue sent again on that
 * word ran twice.
 */
describe('a call written to a node, then the whole cluster unreachable', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    await closeApps();
    await cluster.stop();
  });

  it('rejects it within offlineTimeoutMs saying it may have run', async () => {
    const producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { cluster: { nodes: cluster.nodes } }, offlineTimeoutMs: BOUND_MS },
    });
    const commands = producer.app.get(RedisConnections).commands as unknown as Cluster;
    // Frozen: the enqueue is written and never answered.
    for (const server of cluster.servers) await server.kill('SIGSTOP');
    const marker = `written-${randomUUID()}`;
    const enqueued = producer.client.enqueue('echo', marker);
    await waitFor(() => writtenTo(commands, marker), { timeoutMs: 5_000, intervalMs: 1 });
    for (const server of cluster.servers) await server.kill('SIGKILL');

    const outcome = await outcomeWithin(enqueued, BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(true);
    expect((outcome as RedisUnreachableError).message).toMatch(/sent before the connection dropped.*may have run/);
    // Back, so that the Cluster reconnects and closes as usual.
    for (const server of cluster.servers) await server.restart();
    await cluster.waitHealthy();
    await waitFor(() => commands.status === 'ready', { timeoutMs: 20_000 });
  }, 90_000);
});
