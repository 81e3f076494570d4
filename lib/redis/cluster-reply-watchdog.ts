import type { Cluster, Redis } from 'ioredis';
import { eachSubscriberConnection } from './cluster-subscriber';
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
 * UNBLOCK, a per-node check) is rejected, not sent again. Its subscriber connection (ioredis's
 * ClusterSubscriber, outside the node pool: the control and results subscriptions) is watched by
 * the same rules, each one ioredis makes: a PING is answered in subscriber mode, and one that
 * never subscribed is never connected, so never pinged. Dropped, it ends, and ioredis subscribes a
 * new one, to a node it samples, to what it had (a SUBSCRIBE in flight is sent again there); what
 * was published meanwhile is lost, which onSubscriberReady's listeners make up for. No PING goes
 * to a node connection while `paused(node)` (see watchReplies). Returns its stop.
 */
export function watchNodeReplies(
  cluster: Cluster,
  intervalMs: number,
  boundMs: number,
  paused: (node: Redis) => boolean = () => false,
): () => void {
  const watches = new Map<Redis, () => void>();
  const watch = (node: Redis): void => {
    if (!watches.has(node))
      watches.set(
        node,
        watchReplies(node, intervalMs, boundMs, () => paused(node)),
      );
  };
  const unwatch = (node: Redis): void => {
    watches.get(node)?.();
    watches.delete(node);
  };
  cluster.nodes('all').forEach(watch);
  cluster.on('+node', watch);
  cluster.on('-node', unwatch);
  const unfollow = eachSubscriberConnection(cluster, (subscriber) => {
    watch(subscriber);
    subscriber.once('end', () => unwatch(subscriber));
  });
  cluster.once('end', stop);
  function stop(): void {
    unfollow();
    cluster.off('+node', watch);
    cluster.off('-node', unwatch);
    cluster.off('end', stop);
    watches.forEach((unwatchNode) => unwatchNode());
    watches.clear();
  }
  return stop;
}
