import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { connectOnce } from './connect-once';
import { keySlot } from './key-slot';
import { redisAddress } from './connection-check';
import { threadOptions } from './thread-options';
import type { BlockingRoute, ConnectionTracker, ThreadConnection, Topology } from './topology';

/**
 * Errors of a blocking read that mean "its keys live elsewhere now" or "its node is gone": a
 * slot moved (MOVED, or ASK while it migrates), a failover under way, or the pinned connection
 * dropped (the node was killed; node connections made by ioredis Cluster never reconnect alone).
 */
const REROUTE =
  /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|MASTERDOWN)\b|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|Stream isn't writeable/;
/** A rerouted read waits this long before it is made again: a failover or a migration takes a moment. */
const REROUTE_DELAY_MS = 100;

/**
 * @internal A Redis Cluster. Commands go through an ioredis Cluster (routing by key, following
 * MOVED/ASK, refreshing its slot map); a blocking read is pinned to the master serving its slot,
 * because CLIENT ID and CLIENT UNBLOCK only mean something on the node holding the connection.
 */
export class ClusterTopology implements Topology {
  readonly commands: Redis;
  readonly address: string;

  constructor(private readonly cluster: Cluster) {
    // The module speaks the commands both clients share; what differs per node goes through here.
    this.commands = cluster as unknown as Redis;
    this.address = `the cluster of ${this.startupNodes()
      .map((n) => redisAddress(n))
      .join(', ')}`;
  }

  dedicated(): Redis {
    return this.cluster.duplicate(undefined, { enableAutoPipelining: false }) as unknown as Redis;
  }

  async probe(): Promise<void> {
    await connectOnce(
      this.cluster.duplicate(undefined, {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        enableOfflineQueue: false,
        enableAutoPipelining: false,
      }),
    );
  }

  masters(): Redis[] {
    return this.cluster.nodes('master');
  }

  masterServing(key: string): Promise<Redis> {
    return this.masterOf(keySlot(key));
  }

  groupOf(key: string): number {
    return keySlot(key);
  }

  blockingRoute(key: string, connections: ConnectionTracker): BlockingRoute {
    const slot = keySlot(key);
    let pinned: { blocking: Redis; unblocker: Redis } | undefined;
    const unpin = (): void => {
      if (pinned) connections.release(pinned.blocking);
      pinned = undefined;
    };
    return {
      connection: async () => {
        if (pinned && pinned.blocking.status !== 'end' && pinned.unblocker.status !== 'end') return pinned;
        unpin();
        const unblocker = await this.masterOf(slot);
        // A connection of its own to that node: a blocked connection cannot carry anything else.
        const blocking = unblocker.duplicate({ enableAutoPipelining: false, lazyConnect: false });
        connections.track(blocking, `blocking reads (slot ${slot})`);
        pinned = { blocking, unblocker };
        return pinned;
      },
      rerouted: async (error) => {
        if (!REROUTE.test(String((error as Error)?.message))) return false;
        unpin();
        await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
        await new Promise((resolve) => setTimeout(resolve, REROUTE_DELAY_MS));
        return true;
      },
    };
  }

  threadConnection(): ThreadConnection {
    return {
      kind: 'cluster',
      nodes: this.startupNodes(),
      options: threadOptions(this.cluster.options, defaultClusterOptions(), 'connection.cluster.options'),
    };
  }

  /** The master that serves `slot` now, by the client's slot map (refreshed when it is stale). */
  private async masterOf(slot: number): Promise<Redis> {
    for (let attempt = 0; ; attempt++) {
      const key = this.cluster.slots[slot]?.[0];
      const node = this.cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === key);
      if (node) return node;
      if (attempt >= 3) throw new Error(`CLUSTERDOWN no master known for slot ${slot}`);
      await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, REROUTE_DELAY_MS));
    }
  }

  /**
   * The nodes the thread starts from: the client's current nodes (they hold natMap's mapped
   * addresses), or its startup nodes before it first connected.
   */
  private startupNodes(): { host: string; port: number }[] {
    const known = this.cluster
      .nodes('all')
      .map((n) => ({ host: n.options.host ?? '127.0.0.1', port: n.options.port ?? 6379 }));
    if (known.length > 0) return known;
    const startup = (this.cluster as unknown as { startupNodes: { host?: string; port?: number }[] }).startupNodes;
    return startup.map((n) => ({ host: n.host ?? '127.0.0.1', port: n.port ?? 6379 }));
  }
}

let defaults: ClusterOptions | undefined;

/** ioredis's own ClusterOptions (its default functions among them), from a client never connected. */
function defaultClusterOptions(): ClusterOptions {
  defaults ??= new Cluster([], { lazyConnect: true }).options;
  return defaults;
}
