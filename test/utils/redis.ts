import Redis, { Cluster, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from '../../lib';
import { keySlot } from '../../lib/redis/key-slot';
import { MonitorConnection } from './monitor-connection';
import { testClusterNodes, testTopology } from './test-topology';

/**
 * Redis helpers for specs. The server comes from REDIS_URL, which the Jest global setup sets (see
 * global-setup.ts); every spec works under its own random key prefix and deletes it afterwards.
 */

const clients = new Set<Redis>();

/** The suite's Redis. Set by the global setup, or by the caller to use a Redis of their own. */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) {
    throw new Error(
      'REDIS_URL is not set: run specs through Jest (its global setup provides a Redis) or export REDIS_URL',
    );
  }
  return url;
}

/**
 * The module's `connection` for the suite's Redis: `{ url }` on one node, `{ cluster: { nodes } }`
 * in a cluster run, with `options` applied to every connection either way.
 */
export function testConnection(options: RedisOptions = {}): ConnectionOptions {
  if (testTopology() === 'cluster')
    return { cluster: { nodes: testClusterNodes(), options: { redisOptions: options } } };
  return Object.keys(options).length > 0 ? { url: redisUrl(), options } : { url: redisUrl() };
}

/**
 * An ioredis client on `url` (default: the suite's Redis), closed by `closeAll()`. In a cluster
 * run, without a `url`, it is a Cluster client: same commands, routed by key.
 */
export function createRedis(options: RedisOptions = {}, url?: string): Redis {
  // A short disconnectTimeout: a socket to a killed server is destroyed at once, not kept 2 s past the test.
  const settings = { maxRetriesPerRequest: 3, disconnectTimeout: 100, ...options };
  const client =
    url === undefined && testTopology() === 'cluster'
      ? (new Cluster(testClusterNodes(), {
          redisOptions: settings,
          lazyConnect: options.lazyConnect,
        }) as unknown as Redis)
      : new Redis(url ?? redisUrl(), settings);
  // A test that kills its Redis expects connection errors; unhandled 'error' events would only be noise.
  client.on('error', () => undefined);
  clients.add(client);
  client.once('end', () => clients.delete(client));
  return client;
}

/** A key prefix no other spec (or earlier run) uses, and its cleanup: the testing kit's own. */
export { cleanupPrefix, testPrefix as randomPrefix } from '../../lib/testing/test-prefix';
export { deleteMatching } from '../../lib/testing/test-prefix';

/** The servers behind a client: the one node, or every node of a cluster (masters and replicas). */
export function serverNodes(redis: Redis): Redis[] {
  const cluster = (redis as unknown as { isCluster?: boolean }).isCluster ? (redis as unknown as Cluster) : undefined;
  return cluster ? cluster.nodes('all') : [redis];
}

/** Every key matching the glob `match`; on a cluster, from each master. */
export async function keysMatching(redis: Redis, match: string): Promise<string[]> {
  const cluster = (redis as unknown as { isCluster?: boolean }).isCluster ? (redis as unknown as Cluster) : undefined;
  if (!cluster) return redis.keys(match);
  return (await Promise.all(cluster.nodes('master').map((node) => node.keys(match)))).flat();
}

/**
 * Subscribers of `channel`; on a cluster, summed over every server of it (each counts its own
 * clients). A cluster client subscribes on a node it picks among masters and replicas, and the
 * test client's own node list may lack the replicas (it held 3 of 6 servers here, and the count
 * read 0 whenever the subscriber sat on a replica), so each server is asked directly.
 */
export async function subscriberCount(redis: Redis, channel: string): Promise<number> {
  const cluster = (redis as unknown as { isCluster?: boolean }).isCluster;
  const nodes = cluster ? testClusterNodes().map((n) => serverClient(n.port)) : [redis];
  const counts = await Promise.all(
    nodes.map(async (node) => {
      const [, n] = (await node.pubsub('NUMSUB', channel)) as [string, number];
      return Number(n);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** One plain connection per cluster server, made on first use and closed by closeAll(). */
const servers = new Map<number, Redis>();
function serverClient(port: number): Redis {
  let client = servers.get(port);
  if (!client || client.status === 'end') {
    client = createRedis({}, `redis://127.0.0.1:${port}`);
    servers.set(port, client);
  }
  return client;
}

const monitors = new Set<MonitorConnection>();

/**
 * A MONITOR connection (see MonitorConnection) on the node that serves `key` (the one node, or
 * the master of its slot), closed by `closeAll()`.
 */
export async function monitorNodeOf(key: string): Promise<MonitorConnection> {
  let url = redisUrl();
  if (testTopology() === 'cluster') {
    const probe = new Cluster(testClusterNodes());
    try {
      await new Promise<void>((resolve) => probe.once('ready', () => resolve()));
      const [host, port] = probe.slots[keySlot(key)][0].split(':');
      url = `redis://${host}:${port}`;
    } finally {
      probe.disconnect();
    }
  }
  const monitor = await MonitorConnection.open(url);
  monitors.add(monitor);
  return monitor;
}

export interface WaitForOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Default 25 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  description?: string;
}

/**
 * Polls `predicate` until it returns a truthy value, and resolves with that value. A throw counts as
 * "not yet"; on timeout the rejection names what was awaited, the last value and the last error.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 25, description }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const started = Date.now();
  let last: unknown;
  let lastError: unknown;
  let polls = 0;
  for (;;) {
    polls++;
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
      last = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const what = description ?? (predicate.toString().replace(/\s+/g, ' ').slice(0, 200) || 'predicate');
      const why = lastError !== undefined ? `last error: ${describe(lastError)}` : `last value: ${describe(last)}`;
      throw new Error(`waitFor timed out after ${elapsed} ms (${polls} polls) waiting for: ${what}; ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsed)));
  }
}

/** Closes every client made by `createRedis()`; call it in `afterAll`. */
export async function closeAll(): Promise<void> {
  for (const monitor of monitors) monitor.disconnect();
  monitors.clear();
  const open = [...clients];
  clients.clear();
  await Promise.all(
    open.map(async (client) => {
      // QUIT needs a live server; a test may have killed it, so fall back to dropping the socket.
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    }),
  );
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
