import type { Redis } from 'ioredis';
import { addMethodLayer, type MethodLayer } from './method-layers';

type FlushArgs = [error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }];
/** A node connection's queue of what it wrote, and its flush (internal, wrapped only here). */
interface NodeConnection {
  readonly commandQueue: { readonly length: number; peekAt(index: number): { command: object } | undefined };
  flushQueue(...args: FlushArgs): void;
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
  const record: MethodLayer<NodeConnection, FlushArgs, void> = (connection, flush, error, options) => {
    // Before the flush: it rejects them, and the Cluster may send them again at once.
    if (options?.commandQueue ?? true) {
      for (let i = 0; i < connection.commandQueue.length; i++) {
        const command = connection.commandQueue.peekAt(i)?.command;
        if (command) written.add(command);
      }
    }
    flush(connection, error, options);
  };
  const removals = new WeakMap<object, () => void>();
  const wrap = (node: Redis) => {
    if (!removals.has(node))
      removals.set(node, addMethodLayer(node as unknown as NodeConnection, 'flushQueue', record));
  };
  const nodes = () => (cluster as unknown as { nodes(role: 'all'): Redis[] }).nodes('all');
  nodes().forEach(wrap);
  cluster.on('+node', wrap);
  return {
    wasWritten: (command) => written.has(command),
    stop: () => {
      cluster.off('+node', wrap);
      // A node gone from the Cluster is gone for good (the Cluster connects to it afresh): its
      // layer goes with it. A handed-in Cluster outlives the application: its live nodes get
      // their method back.
      for (const node of nodes()) removals.get(node)?.();
    },
  };
}
