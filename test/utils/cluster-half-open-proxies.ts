import { HalfOpenProxy } from './half-open-proxy';
import type { ClusterNodeAddress, RedisClusterHandle } from './redis-cluster';

/** One HalfOpenProxy per node of a cluster, and what a client needs to reach the nodes through them. */
export interface ClusterHalfOpenProxies {
  /** The proxies' addresses, as startup nodes. */
  readonly nodes: ClusterNodeAddress[];
  /** Maps each node's address (as CLUSTER SLOTS names it) to its proxy: a plain object, so the heartbeat thread can take it. */
  readonly natMap: Record<string, { host: string; port: number }>;
  /** The proxy in front of the node listening on `port`. */
  of(port: number): HalfOpenProxy;
  stop(): Promise<void>;
}

/** Starts a proxy in front of every node of `cluster`; a client given `natMap` dials the nodes only through them. */
export async function proxyEveryNode(cluster: RedisClusterHandle): Promise<ClusterHalfOpenProxies> {
  const proxies = new Map<number, HalfOpenProxy>();
  const natMap: Record<string, { host: string; port: number }> = {};
  const nodes: ClusterNodeAddress[] = [];
  for (const node of cluster.nodes) {
    const proxy = new HalfOpenProxy(node);
    const port = await proxy.start();
    proxies.set(node.port, proxy);
    natMap[`${node.host}:${node.port}`] = { host: '127.0.0.1', port };
    nodes.push({ host: '127.0.0.1', port });
  }
  return {
    nodes,
    natMap,
    of: (port) => {
      const proxy = proxies.get(port);
      if (!proxy) throw new Error(`no proxy in front of a node on port ${port}`);
      return proxy;
    },
    stop: async () => void (await Promise.all([...proxies.values()].map((p) => p.stop()))),
  };
}
