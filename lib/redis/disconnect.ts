import type { Cluster, Redis } from 'ioredis';

/** ioredis's connector (an internal field): what arms the timer, on its current socket. */
interface Connector {
  stream?: NodeJS.EventEmitter & { closed?: boolean };
  disconnect(): void;
}

const guarded = new WeakSet<Connector>();

/**
 * @internal `redis.disconnect()`, leaving no timer behind. ioredis's connector arms one on each
 * disconnect (`disconnectTimeout`, 2 s by default, not unref'd) to destroy a socket whose peer
 * never closes it, and clears it when that socket closes: on a socket already closed nothing
 * clears it, and it holds the process ~2 s after all else closed. That is the connection ended,
 * or waiting between two reconnects; and one disconnected with its handshake unanswered (CLIENT
 * SETINFO, the INFO ready check): once its socket closed, the ready check fails and ioredis
 * (recoverFromFatalError) disconnects it again, itself. The rest of disconnect() is wanted (a
 * pending reconnect cancelled, a connect under way stopped, a Sentinel's failover subscriptions
 * closed): it is called all the same, and the connector made to clear, from now on, the timer
 * each of its disconnects hangs on a socket closed already. A Cluster is disconnected as before
 * (it arms no such timer itself; its ended nodes already left its pool).
 */
export function disconnect(redis: Redis | Cluster): void {
  if (!redis.isCluster) clearsItsTimer((redis as unknown as { connector?: Connector }).connector);
  redis.disconnect();
}

/** Wraps the connector's own disconnect(): on a closed socket, the 'close' listener it adds runs now. */
function clearsItsTimer(connector: Connector | undefined): void {
  if (!connector || guarded.has(connector)) return;
  guarded.add(connector);
  const original = connector.disconnect;
  connector.disconnect = function (this: Connector): void {
    const socket = this.stream;
    if (!socket?.closed) return original.call(this);
    const before = new Set(socket.listeners('close'));
    original.call(this);
    for (const listener of socket.listeners('close')) {
      if (before.has(listener)) continue;
      socket.removeListener('close', listener as () => void);
      (listener as () => void).call(socket);
    }
  };
}
