import type { ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { keySlot } from './key-slot';

/**
 * @internal The one seam between the module and the shape of the Redis deployment: one node (or a
 * Sentinel-managed primary, which ioredis follows by itself) or a Redis Cluster. Everything that
 * is per node (a blocking read and the CLIENT UNBLOCK that cuts it short, readiness checks, what
 * may share a pipeline) goes through here, so the rest of the code never asks which it is.
 */
export interface Topology {
  /** Commands and scripts. On a cluster, an ioredis Cluster: the same command surface, routed by key. */
  readonly commands: Redis;
  /** Where it dials, for messages (never credentials). */
  readonly address: string;
  /** A new connection with the same settings for one purpose (subscriptions). */
  dedicated(): Redis;
  /** One connection attempt of its own, without retries or queued commands: bootstrap's probe. */
  probe(): Promise<void>;
  /** A connection to every master (one node: the commands connection), for per-node checks. */
  masters(): Redis[];
  /**
   * A connection to the master serving `key` now (one node: the commands connection): a check
   * that must reach the node holding some keys, where a keyless command goes to any node.
   */
  masterServing(key: string): Promise<Redis>;
  /**
   * Keys of one group may share a pipeline, a MULTI or a blocking read: one group on one node,
   * the key's hash slot on a cluster.
   */
  groupOf(key: string): number;
  /** Where a blocking read of the keys of `groupOf(key)` goes, and how to cut it short. */
  blockingRoute(key: string, connections: ConnectionTracker): BlockingRoute;
  /** What the heartbeat thread rebuilds its connection from (structured-clone safe). */
  threadConnection(): ThreadConnection;
}

/** @internal Owns connections made for a route, to close them at shutdown. */
export interface ConnectionTracker {
  track(redis: Redis, purpose: string): void;
  release(redis: Redis): void;
}

/**
 * @internal A blocking read's connection: the node serving its keys, plus a connection to that
 * same node for CLIENT UNBLOCK (an id means nothing on another node).
 */
export interface BlockingRoute {
  connection(): Promise<{ blocking: Redis; unblocker: Redis }>;
  /**
   * A blocking call failed with `error`. True when the keys moved or their node failed over (a
   * redirection, a dropped node): the route found where they live now, and the call is simply
   * made again. False: a real failure, for the caller.
   */
  rerouted(error: unknown): Promise<boolean>;
}

/** @internal How the heartbeat thread connects (see heartbeat-thread.js). */
export type ThreadConnection =
  | { readonly kind: 'single'; readonly options: RedisOptions }
  | { readonly kind: 'cluster'; readonly nodes: { host: string; port: number }[]; readonly options: ClusterOptions };

/**
 * @internal Splits items into the runs that may share one pipeline: all of them on one node (no
 * copy: the single-Redis path stays as it was), one run per hash slot on a cluster, where ioredis
 * refuses a pipeline that spans slots.
 */
export function pipelineGroups<T>(redis: Redis, items: T[], keyOf: (item: T) => string): T[][] {
  if (!(redis as { isCluster?: boolean }).isCluster || items.length <= 1) return [items];
  const bySlot = new Map<number, T[]>();
  for (const item of items) {
    const slot = keySlot(keyOf(item));
    const group = bySlot.get(slot);
    if (group) group.push(item);
    else bySlot.set(slot, [item]);
  }
  return [...bySlot.values()];
}
