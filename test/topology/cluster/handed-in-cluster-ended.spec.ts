import { Cluster } from 'ioredis';
import { RedisUnreachableError } from '../../../lib';
import { closeApps, startApp } from '../../fixtures/test-app';
import { outcomeWithin } from '../../utils/outcome-within';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { randomPrefix, waitFor } from '../../utils/redis';

/** Far past an at-once refusal: a call still pending by then waits for good. */
const SETTLED_WITHIN_MS = 5_000;

/*
 * A Cluster handed in as `connection` that ends on its own (its clusterRetryStrategy gave up once
 * every node was unreachable) never comes back. The module's calls on it were refused with
 * ioredis's bare `Connection is closed.`, read as a Cluster closed by the application; they are a
 * RedisUnreachableError, never sent. The application's own commands keep ioredis's error.
 */
describe('a Cluster handed in that ended on its own', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster | undefined;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    await closeApps();
    client?.disconnect();
    await cluster.stop();
  });

  it("refuses the module's calls with RedisUnreachableError; the application's keep ioredis's error", async () => {
    let giveUp = false;
    client = new Cluster(cluster.nodes, { clusterRetryStrategy: () => (giveUp ? null : 50) });
    client.on('error', () => undefined);
    const producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    await producer.client.enqueue('echo', 'before');

    giveUp = true;
    for (const server of cluster.servers) await server.kill('SIGKILL');
    await waitFor(() => client!.status === 'end', { timeoutMs: 20_000, description: 'the Cluster ended' });

    const outcome = await outcomeWithin(producer.client.enqueue('echo', 'after'), SETTLED_WITHIN_MS);
    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect(outcome).toMatchObject({ code: 'REDIS_UNREACHABLE', mayHaveRun: false });
    expect((outcome as Error).message).toMatch(/never sent/);
    const own = await outcomeWithin(client.get('application-key'), SETTLED_WITHIN_MS);
    expect(own).not.toBeInstanceOf(RedisUnreachableError);
    expect((own as Error).message).toBe('Connection is closed.');
  }, 60_000);
});
