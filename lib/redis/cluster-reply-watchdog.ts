import type { Cluster, Redis } from 'ioredis';
import { watchReplies } from './reply-watchdog';

/**
 * @internal watchReplies for an ioredis Cluster, which has no socket of its own: each of its node
 * connections is watched by the same rules (a PING per `intervalMs` on one that is ready; dropped
 * when nothing at all arrived on it for `boundMs` while that PING waited), those the Cluster
 * opens later too, until the node leaves its pool or the client ends. A node connection never
 * reconnects by itself (ioredis makes them with no retryStrategy): dropped, it ends, and the
 * Cluster rejects what it carried with "Connection is closed.", sends it again after
 * retryDelayOnFailover (a pipeline too, when none of it was answered) through a new connection
 * to the node serving the slot now, and counts the retry against maxRedirections. That is the
 * single node's resend: every script tolerates it, and a connection whose replies keep arriving
 * (a PING behind a bulk enqueue) is not dropped. A command sent to a node directly (CLIENT
 * UNBLOCK, a per-node check) is rejected, not sent again. Returns its stop.
 */
export function watchNodeReplies(cluster: Cluster, intervalMs: number, boundMs: number): () => void {
  const watches = new Map<Redis, () => void>();
  const watch = (node: Redis): void => {
    if (!watches.has(node)) watches.set(node, watchReplies(node, intervalMs, boundMs));
  };
  const unwatch = (node: Redis): void => {
    watches.get(node)?.();
    watches.delete(node);
  };
  cluster.nodes('all').forEach(watch);
  cluster.on('+node', watch);
  cluster.on('-node', unwatch);
  cluster.once('end', stop);
  function stop(): void {
    cluster.off('+node', watch);
    cluster.off('-node', unwatch);
    cluster.off('end', stop);
    watches.forEach((unwatchNode) => unwatchNode());
    watches.clear();
  }
  return stop;
}
