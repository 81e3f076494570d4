import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { closeApps, startApp, type TestApp } from '../../fixtures/test-app';
import { randomPrefix } from '../../utils/redis';
import { clusterClient, startRedisCluster, type RedisClusterHandle } from '../../utils/redis-cluster';

/*
 * Review finding: to type a Cluster's give-ups, the module wraps `sendCommand` and `pipeline()` of
 * a Cluster handed in as `connection`. It read them through its own view of the client
 * (module-client.ts), whose sendCommand calls the client's, and set its wrapper on the client: the
 * wrapper called the view, which called the wrapper, and every command on the Cluster, the
 * module's and the application's, ended in "Maximum call stack size exceeded". And the pipeline
 * wrapper took every exec() for a send: an application's own transaction in a pipeline
 * (`pipeline().multi()...exec()` queues EXEC and returns the pipeline, a second exec() sends it)
 * threw "exec.call(...).then is not a function".
 */
/** ioredis's pipeline as a transaction in it is written (its types lack multi() and the first exec()'s return). */
interface Chain {
  multi(): Chain;
  set(key: string, value: string): Chain;
  get(key: string): Chain;
  exec(): Chain & Promise<unknown>;
}

describe('a Cluster handed in as `connection`', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;
  let producer: TestApp;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 0 });
    redis = clusterClient(cluster.nodes);
    producer = await startApp({ prefix: randomPrefix(), options: { worker: false, connection: redis } });
  }, 120_000);
  afterAll(async () => {
    await closeApps();
    redis.disconnect();
    await cluster.stop();
  });

  it('carries the module’s calls and the application’s own commands', async () => {
    const key = `{${randomUUID()}}:app`;

    const handle = await producer.client.enqueue('echo', 'handed-in');
    await redis.set(key, 'v');

    expect(handle.id).toEqual(expect.any(String));
    expect(await redis.get(key)).toBe('v');
  }, 60_000);

  it('runs the application’s pipelined transaction as ioredis runs it', async () => {
    const key = `{${randomUUID()}}:app`;
    const pipeline = redis.pipeline() as unknown as Chain;

    const replies = await pipeline.multi().set(key, 'v').exec().get(key).exec();

    expect(replies).toEqual([
      [null, 'OK'],
      [null, 'QUEUED'],
      [null, ['OK']],
      [null, 'v'],
    ]);
  }, 60_000);
});
