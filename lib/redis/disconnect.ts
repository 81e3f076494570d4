import type { Cluster, Redis } from 'ioredis';

/**
 * @internal `redis.disconnect()`, leaving no timer behind. ioredis arms one on disconnect()
 * (`disconnectTimeout`, 2 s by default, not unref'd) to destroy a socket whose peer never closes
 * it, and clears it when that socket closes: on a socket already closed (the connection ended, or
 * waits between two reconnects) nothing clears it, and it holds the process ~2 s after all else
 * closed. The rest of disconnect() is wanted there too (a pending reconnect cancelled, a connect
 * under way stopped, a Sentinel's failover subscriptions closed): it is called all the same, and
 * the clearing it hung on the closed socket is run now.
 */
export function disconnect(redis: Redis | Cluster): void {
  // A cluster arms none itself; its ended nodes already left its pool.
  const socket = redis.isCluster ? undefined : (redis as Redis).stream;
  if (!socket?.closed) return redis.disconnect();
  const before = new Set(socket.listeners('close'));
  redis.disconnect();
  for (const listener of socket.listeners('close')) {
    if (before.has(listener)) continue;
    socket.removeListener('close', listener as () => void);
    (listener as () => void).call(socket);
  }
}
