import { startRedisCluster } from './redis-cluster';
import { provideTestRedis, type SuiteRedis } from './test-redis';
import { CLUSTER_NODES_ENV, testClusterNodes, testTopology } from './test-topology';

/**
 * Jest global setup: provides the suite's Redis (see test-redis.ts for the order) and exports it as
 * REDIS_URL, which the specs read through `redisUrl()`. Runs in Jest's parent process; with
 * `--runInBand` the specs run there too and see the variable.
 */

/** Shared with global-teardown.ts: Jest runs both in the same process, and only they see it. */
export interface SuiteRedisGlobal {
  __SQ_SUITE_REDIS__?: { redis: SuiteRedis; previousUrl: string | undefined };
}

export default async function globalSetup(): Promise<void> {
  const previousUrl = process.env.REDIS_URL;
  if (testTopology() === 'cluster' && process.env[CLUSTER_NODES_ENV]) {
    // A cluster of the caller's own (a developer's, kept between runs): used as it is.
    process.env.REDIS_URL ??= `redis://127.0.0.1:${testClusterNodes()[0].port}`;
    process.stderr.write(`\n[test redis] the cluster of ${process.env[CLUSTER_NODES_ENV]}\n`);
    return;
  }
  if (testTopology() === 'cluster') {
    // 3 masters, 3 replicas on free ports; REDIS_URL names one master, for the few raw-node uses.
    const cluster = await startRedisCluster();
    process.env[CLUSTER_NODES_ENV] = JSON.stringify(cluster.nodes);
    process.env.REDIS_URL = `redis://127.0.0.1:${(await cluster.masters())[0].port}`;
    const redis: SuiteRedis = { url: process.env.REDIS_URL, source: 'redis-server', stop: () => cluster.stop() };
    (globalThis as SuiteRedisGlobal).__SQ_SUITE_REDIS__ = { redis, previousUrl };
    process.stderr.write(`\n[test redis] a cluster of ${cluster.nodes.map((n) => n.port).join(', ')}\n`);
    return;
  }
  const redis = await provideTestRedis();
  process.env.REDIS_URL = redis.url;
  (globalThis as SuiteRedisGlobal).__SQ_SUITE_REDIS__ = { redis, previousUrl };
  process.stderr.write(`\n[test redis] ${redis.url} (from ${redis.source})\n`);
}
