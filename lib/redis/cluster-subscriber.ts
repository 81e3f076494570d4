import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { isClusterClient } from './connection-check';

const logger = new Logger('StreamQueue');

/** @internal How often result() reads a wait's task state on a Cluster whose subscriber it cannot see. */
export const UNSEEN_POLL_MS = 500;

/** Why a Cluster's subscriber connection cannot be seen, once found: its shape never changes. */
const unseen = new WeakMap<Cluster, string>();
/** What was warned of: once per process (its ioredis is the process's), for each thing missing. */
const warned = new Set<string>();

/**
 * @internal The connection an ioredis Cluster carries its SUBSCRIBEs on now (ioredis's
 * ClusterSubscriber, `cluster.subscriber`: one connection to one node it picks, outside its node
 * pool), or null: none made yet, or an ioredis that does not show it (unseenSubscriber).
 */
export function subscriberConnection(cluster: Cluster): Redis | null {
  if (unseen.has(cluster)) return null;
  const subscriber = (cluster as unknown as { subscriber?: { getInstance?: unknown } }).subscriber;
  if (typeof subscriber !== 'object' || subscriber === null) return missing(cluster, '`cluster.subscriber` is missing');
  if (typeof subscriber.getInstance !== 'function') {
    return missing(cluster, '`cluster.subscriber.getInstance` is missing');
  }
  let connection: unknown;
  try {
    connection = (subscriber.getInstance as () => unknown).call(subscriber);
  } catch (error) {
    return missing(cluster, `\`cluster.subscriber.getInstance()\` threw (${String(error)})`);
  }
  if (connection == null) return null;
  if (isConnection(connection)) return connection;
  return missing(cluster, '`cluster.subscriber.getInstance()` gave something else than an ioredis connection');
}

/**
 * @internal Why this module cannot see the subscriber connection of `redis`, a Cluster: what of
 * ioredis's internals is not as in ioredis 5.9 and 6.1 (`cluster.subscriber.getInstance()`),
 * found by subscriberConnection, which warns of it once. Else undefined. Its readiness unknown,
 * a SUBSCRIBE could go in its handshake (subscriberReady), so result()'s waits read their task
 * states instead (ResultWaiter.poll); a connection ioredis replaces is not adopted
 * (eachSubscriberConnection, onSubscriberReady).
 */
export function unseenSubscriber(redis: Redis): string | undefined {
  if (!isClusterClient(redis as unknown)) return undefined;
  subscriberConnection(redis as unknown as Cluster);
  return unseen.get(redis as unknown as Cluster);
}

function missing(cluster: Cluster, what: string): null {
  unseen.set(cluster, what);
  if (!warned.has(what)) {
    warned.add(what);
    logger.warn(
      `Redis Cluster: ${what} (ioredis 5.9 and 6.1 give their subscriber connection there: another ioredis version?). The module cannot see the connection ioredis subscribes on: result() reads each wait's task state every ${UNSEEN_POLL_MS} ms instead of subscribing, and a subscriber connection ioredis replaces is not watched for replies, nor followed by the control and events subscriptions' catch-up.`,
    );
  }
  return null;
}

/** Whether `value` is an ioredis connection as this module uses one (an emitter with a status). */
function isConnection(value: unknown): value is Redis {
  const connection = value as Record<string, unknown>;
  return (
    typeof connection.status === 'string' &&
    ['on', 'once', 'off', 'connect'].every((m) => typeof connection[m] === 'function')
  );
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
