import { Cluster, Redis } from 'ioredis';
import { raceTimeout } from '../race-timeout';
import { disconnect } from '../redis/disconnect';

/** Thrown when Redis is ready no sooner than `timeoutMs` after connect() began. */
export class ConnectTimeoutError extends Error {}

/**
 * @internal Why a command sent to Redis got no answer: 'late', none within --timeout (ours while
 * connecting, ioredis's connectTimeout or commandTimeout); 'lost', its connection closed first
 * (ioredis rejects what it sent with "Connection is closed.", or the socket's error); undefined
 * when Redis answered (an error of Redis included). Either way a command sent may have run.
 */
export function unanswered(error: unknown): 'late' | 'lost' | undefined {
  if (error instanceof ConnectTimeoutError) return 'late';
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  if (message === 'Command timed out' || code === 'ETIMEDOUT') return 'late';
  if (message === 'Connection is closed.' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED')
    return 'lost';
  return undefined;
}

/**
 * @internal The CLI's connection to the Redis `url` names: that node alone, or, when it is a node
 * of a Redis Cluster, the whole cluster (found from it, with the URL's user, password and TLS),
 * returned as a client the fleet reads take (as the module takes a `Cluster`): each queue and
 * partition lives in one slot, on whichever master serves it, and a lone node's client got
 * MOVED for the others. No retries and no waiting without end: an operator wants to hear at once
 * that the address is wrong, and every command is answered within `timeoutMs` or fails.
 */
export async function connectCli(url: string, timeoutMs: number): Promise<Redis> {
  const node = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  node.on('error', () => undefined);
  try {
    await connectWithin(node, timeoutMs);
    if (!/^cluster_enabled:1\s*$/m.test(await node.info('cluster'))) return node;
  } catch (error) {
    // Refused, it has ended already: no timer may hold the exit (see disconnect).
    disconnect(node);
    throw error;
  }
  disconnect(node);
  const { host, port, username, password, tls } = node.options;
  const cluster = new Cluster([{ host, port }], {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: {
      username,
      password,
      tls,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
    },
  });
  cluster.on('error', () => undefined);
  try {
    await connectWithin(cluster, timeoutMs);
  } catch (error) {
    disconnect(cluster);
    throw error;
  }
  return cluster as unknown as Redis;
}

/**
 * connect() within `timeoutMs` in all: its steps (the socket, then the handshake's commands and
 * the ready check's INFO) would each wait their own timeout, one after the other.
 */
async function connectWithin(redis: Redis | Cluster, timeoutMs: number): Promise<void> {
  await raceTimeout(redis.connect(), timeoutMs, () => {
    throw new ConnectTimeoutError();
  });
}
