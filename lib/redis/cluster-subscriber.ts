import type { Cluster, Redis } from 'ioredis';
import { isClusterClient } from './connection-check';

/**
 * @internal The connection an ioredis Cluster carries its SUBSCRIBEs on now (ioredis's
 * ClusterSubscriber, `cluster.subscriber`: one connection to one node it picks, outside its node
 * pool), or null: none made yet, or an ioredis without one.
 */
export function subscriberConnection(cluster: Cluster): Redis | null {
  const subscriber = (cluster as unknown as { subscriber?: { getInstance?: () => Redis | null } }).subscriber;
  return typeof subscriber?.getInstance === 'function' ? (subscriber.getInstance() ?? null) : null;
}

/**
 * @internal Calls `adopt` with each subscriber connection of `cluster` (subscriberConnection):
 * the one it holds now and every one ioredis makes later. ioredis makes one as the cluster
 * connects, and a new one, to a node it samples, whenever that one ends (it never reconnects: no
 * retryStrategy) or its node leaves the pool, and subscribes it to what the last one had, with no
 * event on the Cluster. Stopped when the client ends; returns its stop.
 */
export function eachSubscriberConnection(cluster: Cluster, adopt: (subscriber: Redis) => void): () => void {
  let current: Redis | null = null;
  let stopped = false;
  const look = (): void => {
    const subscriber = stopped ? null : subscriberConnection(cluster);
    if (!subscriber || subscriber === current) return;
    current?.off('end', lookSoon);
    current = subscriber;
    subscriber.once('end', lookSoon);
    adopt(subscriber);
  };
  // ioredis makes the next one in its own listener of the same event, which may run after this one.
  const lookSoon = (): void => process.nextTick(look);
  const events = ['refresh', 'ready', '+node', '-node'];
  events.forEach((event) => cluster.on(event, lookSoon));
  cluster.once('end', stop);
  look();
  function stop(): void {
    stopped = true;
    events.forEach((event) => cluster.off(event, lookSoon));
    cluster.off('end', stop);
    current?.off('end', lookSoon);
  }
  return stop;
}

/**
 * @internal Calls `listener` whenever `redis` is ready again to carry its subscriptions, after a
 * drop: its 'ready'. On a cluster, the Cluster's 'ready' and each 'ready' of its subscriber
 * connection: a new one ioredis made after the last one ended (eachSubscriberConnection), which
 * the Cluster's own 'ready' never tells. Either comes before ioredis's own SUBSCRIBEs on the new
 * connection are answered: a SUBSCRIBE sent then, answered after them, says they are live.
 */
export function onSubscriberReady(redis: Redis, listener: () => void): void {
  redis.on('ready', listener);
  if (isClusterClient(redis)) eachSubscriberConnection(redis, (subscriber) => subscriber.on('ready', listener));
}

/**
 * @internal Whether `redis` can take a SUBSCRIBE or UNSUBSCRIBE now: it is ready and, a Cluster,
 * so is its subscriber connection. One in its handshake (status 'connect': connected, ready
 * check not answered) writes them at once, as ioredis does every command allowed while Redis
 * loads, ahead of its ready check's INFO and of what it queued while connecting: Redis, the
 * connection subscribed, refuses the INFO (the connection is dropped, and what it queued
 * rejected with that refusal), or an UNSUBSCRIBE queued before goes after a later SUBSCRIBE.
 */
export function subscriberReady(redis: Redis): boolean {
  if (redis.status !== 'ready') return false;
  return !isClusterClient(redis as unknown) || subscriberConnection(redis as unknown as Cluster)?.status === 'ready';
}

/**
 * @internal Starts `redis`'s connection, and a ready Cluster's subscriber connection, if it waits
 * to be asked (lazyConnect: ioredis makes a Cluster's with it, and connects it on its first
 * command). Nothing when one is under way.
 */
export function connectSubscriber(redis: Redis): void {
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  const cluster = isClusterClient(redis as unknown) && redis.status === 'ready';
  const connection = cluster ? subscriberConnection(redis as unknown as Cluster) : null;
  if (connection?.status === 'wait') connection.connect().catch(() => undefined);
}
