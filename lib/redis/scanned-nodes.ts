import type { Cluster, Redis } from 'ioredis';

/** @internal The nodes a scan of every key must visit: each master of a cluster, else the one Redis. */
export function scannedNodes(redis: Redis): Redis[] {
  const cluster = redis as unknown as Cluster;
  return cluster.isCluster ? cluster.nodes('master') : [redis];
}
