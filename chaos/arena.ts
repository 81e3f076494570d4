/**
 * One scenario's world: the queue's Redis (private, AOF with `appendfsync always`, restartable on
 * its port and dir), the ledger's Redis (separate, never touched by the chaos), a producer, and
 * worker processes, each optionally behind its own TCP proxy. It carries out the chaos actions
 * (kill, respawn, restart Redis, cut connections), counts them, logs them with their time, and
 * tears everything down, even after a failure.
 */
import { Cluster, Redis } from 'ioredis';
import type { ConnectionOptions } from '../lib';
import { QueueKeys } from '../lib/redis/keys';
import { CONSUMER_GROUP, DEFAULT_QUEUE } from '../lib/stream-queue.constants';
import { partitionOfTaskId } from '../lib/partitions/task-ids';
import { startRedisCluster, type RedisClusterHandle } from '../test/utils/redis-cluster';
import { startRedisServer, type RedisServerHandle } from '../test/utils/redis-server';
import { CLUSTER_NODES_ENV } from '../test/utils/test-topology';
import { spawnWorker, type WorkerHandle } from '../test/utils/spawn-worker';
import { sleep, WORKER_TIMING } from './config';
import type { FlowLimits } from './flow-analysis';
import { FLOW_LIMITS_ENV } from './flow-task';
import { LedgerKeys } from './ledger';
import { Producer } from './producer';
import { ChaosProxy, type Direction } from './proxy';

const WORKER_FILE = 'chaos/chaos-worker.ts';

export interface ArenaOptions {
  /** Scenario id: names the key prefixes. */
  readonly id: string;
  readonly workers: number;
  /** Worker environment over WORKER_TIMING (LEASE_MS, MAX_STALL_MS, CONCURRENCY, ...). */
  readonly env?: Record<string, string>;
  /** Each worker reaches Redis through a ChaosProxy of its own. */
  readonly proxied?: boolean;
  /**
   * The queue lives on a local Redis Cluster (3 masters, 3 replicas, AOF `appendfsync always`)
   * instead of one server; the producer then enqueues one by one with `durability` (WAIT for a
   * replica), so what it counts as acknowledged survives a failover.
   */
  readonly cluster?: boolean;
  /**
   * The queue's partition count (default 1), given to every worker (PARTITIONS) and to the
   * producer (`queues`), so the whole fleet maps groups to the same partitions.
   */
  readonly partitions?: number;
  /** The flow task's limits, given to every worker (FLOW_LIMITS) and to the producer. */
  readonly flowLimits?: FlowLimits;
}

export interface WorkerSlot {
  readonly name: string;
  readonly handle: WorkerHandle;
  readonly proxy?: ChaosProxy;
  readonly spawnedAt: number;
  /** When the controller sent SIGKILL. */
  killedAt?: number;
  /** When the process was seen gone (however it ended), and how. */
  exitedAt?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

export type RestartMode = 'SIGTERM' | 'SHUTDOWN NOSAVE' | 'SIGKILL';

export class Arena {
  readonly prefix: string;
  readonly L: LedgerKeys;
  /** Partition 0's keys (the whole queue's on a queue of one partition). */
  readonly keys: QueueKeys;
  /** Every partition's keys, by partition. */
  readonly partitionKeys: QueueKeys[];
  readonly slots: WorkerSlot[] = [];
  readonly startedAt = Date.now();
  kills = 0;
  restarts = 0;
  /** When each failoverMaster() SIGKILLed the queue's master (ms, the ledger's clock). */
  readonly failoverKills: number[] = [];
  cuts = 0;
  /** Failures of chaos machinery (a worker that did not start), reported with the scenario. */
  readonly incidents: string[] = [];
  private readonly spawning = new Set<Promise<unknown>>();
  private nextWorker = 1;
  /** Set by close(): a scenario body still running after its deadline must not start anything. */
  private closing = false;

  private constructor(
    readonly options: ArenaOptions,
    readonly queue: RedisServerHandle,
    readonly ledgerServer: RedisServerHandle,
    /** Direct connection to the queue's Redis, for reading results and residue. */
    readonly admin: Redis,
    readonly ledger: Redis,
    readonly producer: Producer,
    /** The queue's cluster, for cluster scenarios (then `queue` is one of its masters). */
    readonly cluster?: RedisClusterHandle,
  ) {
    this.prefix = `chaos-${options.id}`;
    this.L = new LedgerKeys(`ledger-${options.id}`);
    this.partitionKeys = Array.from(
      { length: options.partitions ?? 1 },
      (_, p) => new QueueKeys(this.prefix, DEFAULT_QUEUE, p),
    );
    this.keys = this.partitionKeys[0];
  }

  static async open(options: ArenaOptions): Promise<Arena> {
    if (options.cluster) return Arena.openOnCluster(options);
    const servers = await Promise.allSettled([
      startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }),
      startRedisServer(),
    ]);
    const [queue, ledgerServer] = servers.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    if (!queue || !ledgerServer) {
      await Promise.all([queue?.stop(), ledgerServer?.stop()]);
      const reason = servers.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason as Error;
      throw new Error(`could not start the scenario's redis-servers: ${reason.message}`);
    }
    const admin = client(queue.url);
    const ledger = client(ledgerServer.url);
    let producer: Producer;
    try {
      producer = await Producer.start(queue.url, `chaos-${options.id}`, {
        partitions: options.partitions,
        flowLimits: options.flowLimits,
      });
    } catch (error) {
      admin.disconnect();
      ledger.disconnect();
      await Promise.all([queue.stop(), ledgerServer.stop()]);
      throw error;
    }
    const arena = new Arena(options, queue, ledgerServer, admin, ledger, producer);
    await Promise.all(Array.from({ length: options.workers }, () => arena.spawn()));
    return arena;
  }

  private static async openOnCluster(options: ArenaOptions): Promise<Arena> {
    const cluster = await startRedisCluster({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    let ledgerServer: RedisServerHandle | undefined;
    try {
      ledgerServer = await startRedisServer();
      const admin = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 2, disconnectTimeout: 100 } });
      admin.on('error', () => undefined); // its masters are killed on purpose
      const connection: ConnectionOptions = { cluster: { nodes: cluster.nodes } };
      const producer = await Producer.start(connection, `chaos-${options.id}`, {
        durability: { replicas: 1, timeoutMs: 2_000 },
        partitions: options.partitions,
        flowLimits: options.flowLimits,
      });
      const first = (await cluster.masters())[0];
      const arena = new Arena(
        options,
        first,
        ledgerServer,
        admin as unknown as Redis,
        client(ledgerServer.url),
        producer,
        cluster,
      );
      await Promise.all(Array.from({ length: options.workers }, () => arena.spawn()));
      return arena;
    } catch (error) {
      await Promise.all([cluster.stop(), ledgerServer?.stop()]);
      throw error;
    }
  }

  /** SIGKILLs the master holding the queue's slot; resolves once a replica took over. Cluster only. */
  async failoverMaster(): Promise<{ port: number; ms: number }> {
    const t0 = Date.now();
    this.failoverKills.push(t0);
    const killed = await this.cluster!.failover(this.keys.stream);
    this.kills++;
    const ms = Date.now() - t0;
    await killed.restart(); // it comes back as a replica of the promoted one
    await this.cluster!.waitHealthy();
    this.restarts++;
    return { port: killed.port, ms };
  }

  /** Moves the queue's slot to another master (MIGRATE under ASK, then SETSLOT NODE). Cluster only. */
  async reshard(): Promise<{ from: number; to: number; ms: number }> {
    const t0 = Date.now();
    const moved = await this.cluster!.moveSlotOf(this.keys.stream);
    return { ...moved, ms: Date.now() - t0 };
  }

  /** Seconds since the scenario started, for the action log. */
  clock(): string {
    return `+${((Date.now() - this.startedAt) / 1000).toFixed(1)}s`;
  }

  log(line: string): void {
    process.stdout.write(`  [${this.clock()}] ${line}\n`);
  }

  live(): WorkerSlot[] {
    return this.slots.filter((s) => s.handle.running && s.killedAt === undefined);
  }

  async spawn(): Promise<WorkerSlot> {
    if (this.closing) throw new Error('the arena is closing');
    const name = `w${this.nextWorker++}`;
    const proxy = this.options.proxied ? await ChaosProxy.start(this.queue.port) : undefined;
    const handle = await spawnWorker(WORKER_FILE, {
      env: {
        ...WORKER_TIMING,
        ...this.options.env,
        REDIS_URL: proxy?.url ?? this.queue.url,
        // On a cluster the worker's connection is the cluster's nodes (see worker-env.ts).
        ...(this.cluster ? { [CLUSTER_NODES_ENV]: JSON.stringify(this.cluster.nodes) } : {}),
        ...((this.options.partitions ?? 1) > 1 ? { PARTITIONS: String(this.options.partitions) } : {}),
        ...(this.options.flowLimits ? { [FLOW_LIMITS_ENV]: JSON.stringify(this.options.flowLimits) } : {}),
        LEDGER_URL: this.ledgerServer.url,
        LEDGER: this.L.name,
        SQ_PREFIX: this.prefix,
        WORKER: name,
      },
      ready: `ready ${name}`,
      readyTimeoutMs: 60_000,
    }).catch(async (error: Error) => {
      await proxy?.close();
      throw error;
    });
    const slot: WorkerSlot = { name, handle, proxy, spawnedAt: Date.now() };
    void handle.exited.then((exit) => {
      slot.exitedAt = Date.now();
      slot.exit = exit;
    });
    this.slots.push(slot);
    if (this.closing) await handle.kill('SIGKILL'); // close() began while it was starting
    return slot;
  }

  /** Starts a replacement worker in the background; close() waits for it. */
  respawn(): void {
    if (this.closing) return;
    const started = this.spawn().then(
      (slot) => this.log(`${slot.name} ready (replacement)`),
      (error: Error) => this.incidents.push(`a replacement worker did not start: ${error.message}`),
    );
    this.spawning.add(started);
    void started.finally(() => this.spawning.delete(started));
  }

  /** Resolves once every replacement started by respawn() is ready (or failed to start). */
  async replacementsStarted(): Promise<void> {
    await Promise.all(this.spawning);
  }

  async kill(slot: WorkerSlot): Promise<void> {
    slot.killedAt = Date.now();
    this.kills++;
    await slot.handle.kill('SIGKILL');
  }

  /**
   * Stops the queue's Redis (a graceful SIGTERM, SHUTDOWN NOSAVE, or a SIGKILL crash), keeps it
   * down `downMs`, and starts it again on the same port and dir: with `appendfsync always`,
   * every write Redis acknowledged is in the AOF it reloads.
   */
  async restartRedis(mode: RestartMode, downMs: number): Promise<number> {
    const t0 = Date.now();
    if (mode === 'SHUTDOWN NOSAVE') {
      await this.admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection closes: no reply
    }
    await this.queue.kill(mode === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM');
    await sleep(downMs);
    await this.queue.restart();
    this.restarts++;
    return Date.now() - t0;
  }

  /** Carries out one connection cut on the given workers' proxies; resolves when it is over. */
  async cut(targets: WorkerSlot[], action: CutAction): Promise<void> {
    const proxies = targets.map((t) => t.proxy).filter((p): p is ChaosProxy => p !== undefined);
    this.cuts++;
    if (action.kind === 'drop') proxies.forEach((p) => p.drop());
    else if (action.kind === 'stall') await Promise.all(proxies.map((p) => p.stall(action.ms)));
    else await Promise.all(proxies.map((p) => p.halfOpen(action.direction, action.ms, action.after)));
  }

  /** Ids (of `ids`) that completed: a stored ok result in the queue's Redis, or a 'completed' event. */
  async completed(ids: readonly string[]): Promise<Set<string>> {
    const done = new Set<string>();
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      const [results, settled] = await Promise.all([
        this.storedResults(chunk),
        this.ledger.mget(...chunk.map((id) => this.L.settled(id))),
      ]);
      chunk.forEach((id, j) => {
        const ok = results[j] !== null && (JSON.parse(results[j]!) as { ok: boolean }).ok;
        if (ok || Number(settled[j] ?? 0) > 0) done.add(id);
      });
    }
    return done;
  }

  /** The stored results' values by id (the name of the worker whose settle was accepted). */
  async resultWorkers(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      const results = await this.storedResults(chunk);
      chunk.forEach((id, j) => {
        const stored = results[j] === null ? undefined : (JSON.parse(results[j]!) as { ok: boolean; value?: unknown });
        if (stored?.ok) out.set(id, String(stored.value));
      });
    }
    return out;
  }

  /**
   * The stored result of each id (null if none), in order: one MGET per partition, so each stays
   * in one slot on a cluster.
   */
  private async storedResults(ids: readonly string[]): Promise<(string | null)[]> {
    const out: (string | null)[] = ids.map(() => null);
    const byPartition = new Map<QueueKeys, number[]>();
    ids.forEach((id, i) => {
      const keys = this.keysOf(id);
      const list = byPartition.get(keys);
      if (list) list.push(i);
      else byPartition.set(keys, [i]);
    });
    await Promise.all(
      [...byPartition].map(async ([keys, at]) => {
        const results = await this.admin.mget(...at.map((i) => keys.result(ids[i])));
        at.forEach((i, j) => (out[i] = results[j]));
      }),
    );
    return out;
  }

  /** The keys of the partition a task id names (its suffix; none: partition 0). */
  keysOf(id: string): QueueKeys {
    return this.partitionKeys[partitionOfTaskId(id)] ?? this.keys;
  }

  /** Polls until every id completed or `timeoutMs` passed; returns the ids still open. */
  async drain(ids: readonly string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let open = [...ids];
    let nextReport = Date.now() + 5_000;
    for (;;) {
      if (this.closing) return open;
      try {
        const done = await this.completed(open);
        open = open.filter((id) => !done.has(id));
      } catch {
        // the queue's Redis is restarting: ask again
      }
      if (open.length === 0 || Date.now() >= deadline) return open;
      if (Date.now() >= nextReport) {
        this.log(`draining: ${open.length} task(s) still open`);
        nextReport = Date.now() + 5_000;
      }
      await sleep(250);
    }
  }

  /** What is left in the queue's Redis, every partition's summed: expected all zero after a drain. */
  async residue(): Promise<Residue> {
    const parts = await Promise.all(this.partitionKeys.map((keys) => this.residueOf(keys)));
    return {
      stream: parts.reduce((n, r) => n + r.stream, 0),
      pending: parts.reduce((n, r) => n + r.pending, 0),
      delayed: parts.reduce((n, r) => n + r.delayed, 0),
      deadLetters: new Map(parts.flatMap((r) => [...r.deadLetters])),
      entries: parts.flatMap((r) => r.entries).slice(0, 5),
    };
  }

  private async residueOf(keys: QueueKeys): Promise<Residue> {
    const [stream, pending, delayed, dlq, leftovers, groups] = await Promise.all([
      this.admin.xlen(keys.stream),
      this.admin.xpending(keys.stream, CONSUMER_GROUP).catch(() => [0]) as Promise<unknown[]>,
      this.admin.zcard(keys.delayed),
      this.admin.xrange(keys.deadLetter, '-', '+'),
      this.admin.xrange(keys.stream, '-', '+', 'COUNT', 5),
      this.admin.xinfo('GROUPS', keys.stream).catch(() => []) as Promise<unknown[][]>,
    ]);
    const deadLetters = new Map<string, string>();
    for (const [, fields] of dlq) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
      deadLetters.set(f.get('id') ?? f.get('raw') ?? '?', f.get('reason') ?? '?');
    }
    const group = groups.map(toRecord).find((g) => g.name === CONSUMER_GROUP);
    const lastDelivered = String(group?.['last-delivered-id'] ?? '0-0');
    const entries = leftovers.map(([entry, fields]) => ({
      entry,
      taskId: fields[fields.indexOf('id') + 1],
      delivered: compareIds(entry, lastDelivered) <= 0,
    }));
    return { stream, pending: Number(pending[0] ?? 0), delayed, deadLetters, entries };
  }

  /** Stops everything this scenario started; every step guarded, so one failure does not leak the rest. */
  async close(): Promise<void> {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        this.incidents.push(`teardown (${what}): ${(error as Error).message.split('\n')[0]}`);
      }
    };
    this.closing = true;
    await step('replacement workers', () => Promise.all(this.spawning));
    await step('producer', () => this.producer.close());
    await step('workers', () => Promise.all(this.slots.map((s) => s.handle.kill('SIGTERM', 5_000))));
    await step('proxies', () => Promise.all(this.slots.map((s) => s.proxy?.close())));
    this.admin.disconnect();
    this.ledger.disconnect();
    const queue = this.cluster ?? this.queue;
    await step('redis-servers', () => Promise.all([queue.stop(), this.ledgerServer.stop()]));
  }
}

export interface Residue {
  stream: number;
  pending: number;
  delayed: number;
  /** Dead-letter stream: task id -> reason. */
  deadLetters: Map<string, string>;
  /** The first entries left in the stream, and whether the group had already read past them. */
  entries: { entry: string; taskId: string; delivered: boolean }[];
}

function toRecord(row: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
  return record;
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

export type CutAction =
  | { kind: 'drop' }
  | { kind: 'stall'; ms: number }
  | { kind: 'half-open'; direction: Direction; ms: number; after: 'resume' | 'reset' };

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, disconnectTimeout: 100 });
  redis.on('error', () => undefined); // the queue's Redis restarts on purpose
  return redis;
}
