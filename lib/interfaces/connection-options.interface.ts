import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/**
 * A Redis Cluster the module connects to itself: startup nodes and ioredis ClusterOptions
 * (`redisOptions` inside them apply to every node: password, TLS, ...).
 * @publicApi
 */
export interface ClusterConnectionOptions {
  cluster: { nodes: { host: string; port: number }[]; options?: ClusterOptions };
}

/**
 * How the module reaches Redis: a URL, ioredis options (with `sentinels` and `name` for Sentinel),
 * `{ cluster: { nodes, options } }`, or an existing client to reuse (a `Redis` or a `Cluster`).
 * A reused client is never closed by the module; connections it derives from it are.
 * @publicApi
 */
export type ConnectionOptions =
  { url: string; options?: RedisOptions } | ClusterConnectionOptions | RedisOptions | Redis | Cluster;
