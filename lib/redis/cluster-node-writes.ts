import type { Redis } from 'ioredis';

/** A node connection's queue of what it wrote, and its flush (internal, wrapped only here). */
interface NodeConnection {
  readonly commandQueue: { readonly length: number; peekAt(index: number): { command: object } | undefined };
  flushQueue(error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }): void;
}

/**
 * @internal Records the commands a node connection of the Cluster `cluster` wrote and left
 * unanswered when it closed (those in its command queue as ioredis flushes it): Redis may have
 * run them. The Cluster tries such a command again (after retryDelayOnFailover): when the whole
 * cluster went meanwhile that try puts it in the Cluster's offline queue, beside the calls never
 * sent, and offlineTimeoutMs's bound gave it up as never sent (mayHaveRun false); else it gives
 * it up after maxRedirections (see typeClusterGiveUps). A command written and answered (MOVED,
 * CLUSTERDOWN from a node that lost its peers) did not run: it is not counted, where counting
 * every write said such a call may have run. Returns whether a command was left so, and the stop.
 */
export function watchNodeWrites(cluster: Redis): { wasWritten(command: object): boolean; stop(): void } {
  const written = new WeakSet<object>();
  let active = true;
  const wrap = (node: Redis) => {
    const connection = node as unknown as NodeConnection;
    const flush = connection.flushQueue;
    connection.flushQueue = function (this: NodeConnection, error, options) {
      // Before the flush: it rejects them, and the Cluster may send them again at once.
      if (active && (options?.commandQueue ?? true)) {
        for (let i = 0; i < this.commandQueue.length; i++) {
          const command = this.commandQueue.peekAt(i)?.command;
          if (command) written.add(command);
        }
      }
      flush.call(this, error, options);
    };
  };
  const nodes = (cluster as unknown as { nodes(role: 'all'): Redis[] }).nodes('all');
  nodes.forEach(wrap);
  cluster.on('+node', wrap);
  return {
    wasWritten: (command) => written.has(command),
    stop: () => {
      // A wrapper left on a node passes through (a handed-in Cluster outlives the application).
      active = false;
      cluster.off('+node', wrap);
    },
  };
}
