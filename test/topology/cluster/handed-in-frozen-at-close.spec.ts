import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { ApplicationClosedError } from '../../../lib/errors';
import { closeApps, startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';
import { outcomeWithin } from '../../utils/outcome-within';
import { writtenTo } from '../../utils/written-commands';

/*
 * A `Cluster` handed in as `connection`, frozen at app.close() with an enqueue of the module
 * written to a node: the close withdrew the module's calls from the Cluster's own offline queue
 * only, not from its node connections, so the enqueue waited after app.close() resolved, as long
 * as the application's client let it (for ever on a frozen node). Now it gets the 2 s a single
 * client's written calls get, then rejects as may have run.
 */
describe('a Cluster handed in, frozen at app.close() with a call of the module written to a node', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  beforeAll(async () => (cluster = await startRedisCluster({ masters: 3, replicas: 0 })), 120_000);
  afterAll(async () => {
    for (const server of cluster.servers) if (server.running) await server.kill('SIGCONT');
    await closeApps();
    client?.disconnect();
    await cluster.stop();
  });

  it('rejects the call at close as may have run', async () => {
    client = new Cluster(cluster.nodes);
    const producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: client } });
    for (const server of cluster.servers) await server.kill('SIGSTOP');
    const marker = `written-${randomUUID()}`;
    const enqueued = producer.client.enqueue('echo', marker);
    enqueued.catch(() => undefined); // judged below
    await waitFor(() => writtenTo(client, marker), { timeoutMs: 5_000, intervalMs: 1 });

    await producer.close();

    const outcome = await outcomeWithin(enqueued, 0);
    expect(outcome).toBeInstanceOf(ApplicationClosedError);
    expect((outcome as Error).message).toMatch(/may have run/);
  }, 90_000);
});
