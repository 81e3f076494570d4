import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { RedisUnreachableError } from '../../../lib/errors';
import { RedisConnections } from '../../../lib/redis/redis-connections';
import { closeApps, startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { nodeHoldingMarker } from '../../utils/written-commands';

/** What `call` settled with: its error, or its value. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    (value) => value,
    (error: unknown) => error,
  );

/*
 * Attack finding: ioredis's Cluster tries a call again after its node connection closed only while
 * the Cluster is ready; otherwise it rejects it at once with the bare `Connection is closed.`,
 * which the module passed on, untyped, though the node had written the call. Reached here as in
 * production: the call is written to a master that froze; its replica takes over and a slot
 * refresh drops the frozen master from the Cluster's pool, which disconnects it (the FIN is never
 * answered: the connection stays open, the call on it, up to ioredis's disconnectTimeout); every
 * node of the pool then goes, so the Cluster is reconnecting (not ready) when the frozen master dies and its connection closes.
 */
describe('a node connection dropped while the cluster is not ready', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 1 })), 120_000);
  afterAll(async () => {
    await closeApps();
    await cluster.stop();
  });

  it('rejects the call it had written with a RedisUnreachableError that may have run', async () => {
    const producer = await startApp({
      prefix: randomPrefix(),
      options: {
        worker: false,
        leaseMs: 120_000, // the reply watch (which cuts a node silent that long) stays out of it
        connection: { cluster: { nodes: cluster.nodes } },
      },
    });
    const commands = producer.app.get(RedisConnections).commands as unknown as Cluster;
    const frozen = await cluster.masterOf(producer.keys.stream);
    await frozen.kill('SIGSTOP'); // the enqueue is written and never answered
    const marker = `written-${randomUUID()}`;
    const enqueued = outcome(producer.client.enqueue('echo', marker));
    let connection: Redis | undefined;
    await waitFor(() => (connection = nodeHoldingMarker(commands, marker)), { timeoutMs: 5_000, intervalMs: 1 });
    // ioredis destroys a connection it disconnected whose FIN goes unanswered after its
    // disconnectTimeout (2 s): longer for this one, so that it is closed by its node's death.
    (connection as unknown as { connector: { disconnectTimeout: number } }).connector.disconnectTimeout = 600_000;
    // Its replica takes over; a refresh then leaves the frozen master out of the pool.
    await waitFor(
      async () => {
        await new Promise<void>((resolve) => commands.refreshSlotsCache(() => resolve()));
        return !commands.nodes('all').includes(connection!);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(connection!.status).not.toBe('end'); // still open, the enqueue on it
    for (const server of cluster.servers) if (server !== frozen) await server.kill('SIGKILL');
    // A node connection never used yet (a replica's) connects on its first command: it ends then.
    for (const node of commands.nodes('all')) node.ping().catch(() => undefined);
    await waitFor(() => commands.nodes('all').length === 0 && commands.status !== 'ready', { timeoutMs: 10_000 });
    expect(connection!.status).not.toBe('end');

    await frozen.kill('SIGKILL');
    const error = await enqueued;

    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as RedisUnreachableError).mayHaveRun).toBe(true);
    expect(String((error as Error).cause)).toMatch(/Connection is closed/);
    // Back, so that the Cluster reconnects and closes as usual.
    for (const server of cluster.servers) await server.restart();
    await cluster.waitHealthy();
    await waitFor(() => commands.status === 'ready', { timeoutMs: 20_000 });
  }, 120_000);
});
