import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './free-port';
import { startRedisServer, type RedisServerHandle } from './redis-server';

/**
 * A real local Redis Cluster for specs and chaos: `masters` masters with one replica each
 * (`redis-server --cluster-enabled yes` on free ports, cluster bus ports picked free too), joined
 * by `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`. A short
 * cluster-node-timeout makes failovers take about a second. No Docker.
 */

const run = promisify(execFile);

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  /** Every node (masters and replicas), as startup nodes for ioredis. */
  readonly nodes: ClusterNodeAddress[];
  readonly servers: readonly RedisServerHandle[];
  /** The server that is master of `key`'s slot now. */
  masterOf(key: string): Promise<RedisServerHandle>;
  /** The servers that are masters now. */
  masters(): Promise<RedisServerHandle[]>;
  /**
   * SIGKILLs the master of `key`'s slot, then waits until a replica took its slots over and every
   * surviving node agrees the cluster is ok. Returns the killed server (restart() brings it back as a replica).
   */
  failover(key: string): Promise<RedisServerHandle>;
  /** Waits until every running node reports cluster_state:ok and the same slot owners. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Moves `key`'s slot to another master with `redis-cli --cluster reshard` (MIGRATE, then SETSLOT). */
  moveSlotOf(key: string): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Default 3 (with one replica each: 6 servers). */
  masters?: number;
  /** Replicas per master: 1 (default) or 0 (the benchmark: replicas would share its 2 cores). */
  replicas?: 0 | 1;
  /** Default 1000 ms. */
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  args?: string[];
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masterCount = opts.masters ?? 3;
  const nodeTimeout = opts.nodeTimeoutMs ?? 1_000;
  const replicas = opts.replicas ?? 1;
  const servers: RedisServerHandle[] = [];
  try {
    for (let i = 0; i < masterCount * (1 + replicas); i++) {
      // The bus port defaults to port + 10000, which may be taken or out of range: pick it free too.
      const busPort = await freePort();
      servers.push(
        await startRedisServer({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeout),
            '--cluster-port',
            String(busPort),
            // A replica promotes however stale it is: tests kill masters on purpose.
            '--cluster-replica-validity-factor',
            '0',
            ...(opts.args ?? []),
          ],
        }),
      );
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await untilNodesAgree(servers);
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  const byPort = new Map(servers.map((s) => [s.port, s]));

  const slotOwners = async (server: RedisServerHandle): Promise<Map<number, number>> => {
    const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      const slots = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const owners = new Map<number, number>();
      for (const [start, , [, port]] of slots) owners.set(start, port);
      return owners;
    } finally {
      redis.disconnect();
    }
  };

  const keySlot = async (key: string): Promise<number> => {
    const redis = new Redis(servers.find((s) => s.running)!.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    try {
      return Number(await redis.cluster('KEYSLOT', key));
    } finally {
      redis.disconnect();
    }
  };

  const masterPortOf = async (key: string): Promise<number> => {
    const slot = await keySlot(key);
    const redis = new Redis(servers.find((s) => s.running)!.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    try {
      const slots = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const range = slots.find(([start, end]) => slot >= start && slot <= end);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return range[2][1];
    } finally {
      redis.disconnect();
    }
  };

  const handle: RedisClusterHandle = {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    async masterOf(key) {
      return byPort.get(await masterPortOf(key))!;
    },
    async masters() {
      const owners = await slotOwners(servers.find((s) => s.running)!);
      return [...new Set(owners.values())].map((port) => byPort.get(port)!);
    },
    async failover(key) {
      const master = await handle.masterOf(key);
      await master.kill('SIGKILL');
      await waitUntil(
        async () => (await masterPortOf(key)) !== master.port,
        `a replica to take over from the killed master :${master.port}`,
        30_000,
      );
      await handle.waitHealthy();
      return master;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitUntil(
        async () => {
          const running = servers.filter((s) => s.running);
          const views: string[] = [];
          for (const server of running) {
            const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
            redis.on('error', () => undefined);
            try {
              const info = String(await redis.cluster('INFO'));
              if (!info.includes('cluster_state:ok')) return false;
            } finally {
              redis.disconnect();
            }
            views.push(JSON.stringify([...(await slotOwners(server))].sort((a, b) => a[0] - b[0])));
          }
          return new Set(views).size === 1;
        },
        'every running node to report cluster_state:ok with the same slot owners',
        timeoutMs,
      );
    },
    async moveSlotOf(key) {
      const slot = await keySlot(key);
      const from = await masterPortOf(key);
      const to = (await handle.masters()).find((m) => m.port !== from)!.port;
      const idOf = async (port: number): Promise<string> => {
        const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0 });
        try {
          return String(await redis.cluster('MYID'));
        } finally {
          redis.disconnect();
        }
      };
      const [fromId, toId] = await Promise.all([idOf(from), idOf(to)]);
      // Moving a whole slot range would also move other tests' keys: move exactly this slot.
      await moveSlot(slot, { port: from, id: fromId }, { port: to, id: toId }, servers);
      return { from, to };
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
  await handle.waitHealthy();
  await waitUntil(
    async () => (await Promise.all(servers.map(replicaLinkUp))).every(Boolean),
    'every replica to finish its first sync',
    30_000,
  );
  return handle;
}

/** True for a master, or for a replica whose link to its master is up (its first sync done). */
async function replicaLinkUp(server: RedisServerHandle): Promise<boolean> {
  const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
  try {
    const info = await redis.info('replication');
    return info.includes('role:master') || info.includes('master_link_status:up');
  } finally {
    redis.disconnect();
  }
}

/**
 * The steps `redis-cli --cluster reshard` runs for one slot: IMPORTING on the target, MIGRATING on
 * the source, MIGRATE of its keys in batches, then SETSLOT NODE everywhere. Between the batches the
 * slot is split across the two masters and clients get ASK redirections.
 */
async function moveSlot(
  slot: number,
  from: { port: number; id: string },
  to: { port: number; id: string },
  servers: readonly RedisServerHandle[],
): Promise<void> {
  const source = new Redis(from.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
  const target = new Redis(to.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
  try {
    await target.cluster('SETSLOT', slot, 'IMPORTING', from.id);
    await source.cluster('SETSLOT', slot, 'MIGRATING', to.id);
    for (;;) {
      const keys = (await source.cluster('GETKEYSINSLOT', slot, 10)) as string[];
      if (keys.length === 0) break;
      await source.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5_000, 'KEYS', ...keys);
    }
    await target.cluster('SETSLOT', slot, 'NODE', to.id);
    await source.cluster('SETSLOT', slot, 'NODE', to.id);
    for (const server of servers.filter((s) => s.running && s.port !== from.port && s.port !== to.port)) {
      const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      await redis.cluster('SETSLOT', slot, 'NODE', to.id).catch(() => undefined);
      redis.disconnect();
    }
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** An ioredis Cluster client on `cluster` for a spec's own reads and writes. */
export function clusterClient(nodes: ClusterNodeAddress[]): Cluster {
  const client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  client.on('error', () => undefined);
  return client;
}

/**
 * Waits until every node says the cluster is ok and answers the same slot map. redis-cli's create
 * returns once the nodes joined, and a node may still name another owner for a slot for a moment
 * (config epochs settling): a client's first command then bounced between two nodes' MOVED replies
 * until ioredis gave up ("Too many Cluster redirections", seen in CI under load).
 */
async function untilNodesAgree(servers: readonly RedisServerHandle[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const clients = servers.map((s) => {
    const redis = new Redis(s.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    return redis;
  });
  try {
    for (;;) {
      const views = await Promise.all(
        clients.map(async (redis) => {
          const info = String(await redis.cluster('INFO'));
          const slots = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
          const map = slots
            .map(([start, end, [, port]]) => `${start}-${end}:${port}`)
            .sort()
            .join(',');
          return info.includes('cluster_state:ok') ? map : undefined;
        }),
      );
      if (views[0] !== undefined && views.every((view) => view === views[0])) return;
      if (Date.now() > deadline)
        throw new Error(`the cluster's nodes did not agree on its slots within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    clients.forEach((redis) => redis.disconnect());
  }
}
