import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ApplicationClosedError, RedisUnreachableError } from '../errors';
import type { ConnectionOptions } from '../interfaces';
import type { StreamQueueConfig } from '../stream-queue.config';
import { STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { raceTimeout } from '../race-timeout';
import { closeUnanswering, closeUnconnected, refusedAtClose } from './close-unconnected';
import { watchNodeReplies } from './cluster-reply-watchdog';
import { closedForGood, endedWithin, watchEndedOnItsOwn } from './connection-end';
import { disconnect } from './disconnect';
import { typeEndedQueues, typeHandedInEnd } from './ended-queues';
import { refuseOnceEnded } from './ended-refusal';
import { closedNeverSent, withdrawAtClose } from './handed-in-close';
import { tellUnansweredApart } from './unanswered-given-up';
import { guardAppSession, heldByAppTransaction } from './app-session-guard';
import { guardClusterAppSessions } from './cluster-app-session-guard';
import { boundUnreadyWaits, type HeldCalls } from './unready-wait-bound';
import { boundReadyCheck } from './ready-check-bound';
import { checkCommands } from './command-check';
import { isClusterClient, isRedisClient } from './connection-check';
import { moduleClient, type ModuleClient } from './module-client';
import { awaitRedis, connectTimeoutOf, untilAborted } from './redis-readiness';
import { watchReplies } from './reply-watchdog';
import { defineScripts } from './scripts';
import type { ConnectionTracker, Topology } from './topology';
import { ClusterTopology } from './topology-cluster';
import { SingleTopology } from './topology-single';

/** A connection's retry strategies (a cluster client's have two), as a failed bootstrap turns them off. */
interface RetryStrategies {
  retryStrategy?: unknown;
  clusterRetryStrategy?: unknown;
}

/** Statuses of a connection that is connected or on its way (a lazy one connects on use). */
const ACTIVE = new Set(['wait', 'connecting', 'connect', 'ready']);

/** Statuses of a connection whose socket is open or opening: closed, it ends in a later turn. */
const OPEN = new Set(['connecting', 'connect', 'ready']);

/** How long close() waits for Redis to answer QUIT before it cuts the connection. */
const QUIT_TIMEOUT_MS = 2_000;
/** How long a socket suspend() closed may stay open before it is cut (see endedWithin). */
const END_TIMEOUT_MS = 2_000;
/** How long close() gives the last writes (beforeQuit): a frozen Redis must not hold it for ever. */
const LAST_WRITES_TIMEOUT_MS = 10_000;

/**
 * @internal Owns the module's Redis connections: one for commands and scripts (shared by the
 * client and the workers), plus dedicated ones for blocking reads and pub/sub. A client the user
 * handed in is reused and never closed; everything derived from it is.
 */
@Injectable()
export class RedisConnections implements OnModuleInit, OnApplicationShutdown, ConnectionTracker {
  readonly commands: Redis;
  /** One node (or a Sentinel primary) or a cluster: everything that differs per node. */
  readonly topology: Topology;
  private readonly owned = new Set<Redis>();
  /** Each dedicated connection: what it is for (blocking reads, the control subscriber...), since when. */
  private readonly purposes = new Map<Redis, { purpose: string; since: number; wasReady: boolean }>();
  private closed = false;
  /** The close under way: calls made meanwhile wait for it (see close). */
  private closingAll?: Promise<void>;
  private readonly closing = new Set<() => void>();
  /** Last writes, awaited once every hook of the application ran, before the connections close. */
  private readonly lastWrites: (() => Promise<void>)[] = [];
  /** The removal of offlineTimeoutMs's bound from a client handed in (see boundHandedIn). */
  private unboundHandedIn?: () => void;
  /** The stop of each connection's reply watch (see watchReplies). */
  private readonly watches = new Map<Redis, () => void>();
  private readonly logger = new Logger('StreamQueue');
  /** The retry strategies a failed bootstrap turned off, for `init()` again to turn back on. */
  private readonly givenUp = new Map<Redis, RetryStrategies>();
  /** The bootstrap's wait for Redis, aborted when the module's init fails (see suspend). */
  private booting?: AbortController;
  /** The outcome of that bootstrap, ready check and command check (see commandsReady). */
  private booted?: Promise<void>;
  /**
   * The end of each connection suspend() closed while its socket was open, until it ended (see
   * resume): within about twice END_TIMEOUT_MS, its socket cut if the peer never closes it.
   */
  private readonly ending = new Map<Redis, Promise<void>>();
  /** Calls held before the command connection's queues, under its offlineTimeoutMs bound (see boundHeldCalls). */
  private heldCalls?: HeldCalls[];
  /** Whether the guard of a client handed in holds the module's commands on a connection now (see guardAppSession). */
  private appSessionHolds?: (connection: Redis) => boolean;
  /** A client handed in as `connection`, as the module uses it: its own commands marked (see moduleClient). */
  private readonly handedIn?: ModuleClient<Redis>;

  constructor(@Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig) {
    const { connection } = config;
    this.handedIn = isRedisClient(connection) ? moduleClient(connection as Redis) : undefined;
    this.topology = createTopology(this.handedIn?.client ?? connection, (redis) => this.track(redis, 'commands'));
    this.commands = this.topology.commands;
    defineScripts(this.commands);
  }

  /**
   * Producers and workers alike wait here for Redis, retrying, before anything uses it: the module
   * is global, so this runs before the application's own onModuleInit hooks (which may enqueue)
   * and before every onApplicationBootstrap (the heartbeat, the reads, periodic schedules).
   */
  onModuleInit(): Promise<void> {
    const booting = new AbortController();
    this.booting = booting;
    const booted = this.bootstrap(booting);
    // Awaited by init() itself; commandsReady() may have no caller (it rejects with the same error).
    booted.catch(() => undefined);
    this.booted = booted;
    return booted;
  }

  private async bootstrap(booting: AbortController): Promise<void> {
    const { retryAttempts, retryDelay } = this.config;
    // Closed for good (the application gave up on its failed init): nothing may reconnect.
    if (this.closed) throw new ApplicationClosedError('The application closed: init() cannot run again.');
    try {
      this.refuseEndedClient();
      await this.resume(booting.signal);
      await awaitRedis(this.topology, {
        retryAttempts,
        retryDelay,
        logger: this.logger,
        redact: redactCredentials,
        signal: booting.signal,
      });
      // Bounded as an attempt is: the reply watchdog below does not watch it yet.
      await untilAborted(checkCommands(this.topology, connectTimeoutOf(this.commands)), booting.signal);
      booting.signal.throwIfAborted();
      // Producers too: a command connection gone half-open held every enqueue until the OS gave
      // up on the socket, many minutes (a worker's ConsumerHost used to watch it for itself).
      this.watch(this.commands);
      this.boundHandedIn();
    } catch (error) {
      // Not when init() again began meanwhile: the connections are that one's now.
      if (this.booting === booting) this.suspend(error);
      throw error;
    }
  }

  /**
   * A client handed in that was closed (or is closing) never reconnects, and the module does not
   * reopen what it does not own: it fails the bootstrap at once, saying so. Waiting for it, the
   * bootstrap failed after its attempts, as if Redis were away, or by the first command's
   * "Connection is closed." when its close was still under way.
   */
  private refuseEndedClient(): void {
    if (this.owned.has(this.commands) || !closedForGood(this.commands)) return;
    const { address } = this.topology;
    const reason =
      'the ioredis client handed in as `connection` has ended (quit() or disconnect() was called on it, or its retryStrategy gave up)';
    throw new RedisUnreachableError(
      address,
      reason,
      `Redis at ${address} cannot be used: ${reason}. It never reconnects, and the module does not reopen a client it does not own: hand in a client that is connected or connecting, or connection options.`,
    );
  }

  /**
   * offlineTimeoutMs and the typed give-up (boundUnreadyWaits, tellUnansweredApart) on a client
   * handed in, for the module's own commands and while the application holds it: without them a
   * call waited as the user's client let it, for ever behind a reconnect that is accepted and
   * never answered, or through any outage with `maxRetriesPerRequest: null`. The application's
   * own commands on it are its own (moduleClient), and the state it sets on the connection (a
   * transaction, a database) does not reach the module's (guardAppSession). Removed at close and
   * at a failed init.
   */
  private boundHandedIn(): void {
    if (!this.handedIn || this.unboundHandedIn) return;
    const only = this.handedIn.isModuleCommand;
    const address = () => this.topology.address;
    // On the client, not the view: its methods are wrapped once for every application's view of
    // it (addMethodLayer), and a Cluster's sendCommand read through the view is the view's.
    const { handedIn } = this.handedIn;
    const untell = handedIn.isCluster ? () => undefined : tellUnansweredApart(handedIn, address, only);
    const unbound = boundUnreadyWaits(handedIn, this.config.offlineTimeoutMs, address, only);
    // A Cluster's end is typed by boundUnreadyWaits (typeClusterGiveUps).
    const untypeEnd = handedIn.isCluster
      ? () => undefined
      : typeHandedInEnd(handedIn, address, () => this.closed, only);
    // After the end's typed refusal, so outer: what the guard releases after the end is refused typed.
    const heldBound = heldByAppTransaction(this.config.offlineTimeoutMs, address);
    const oneNodeGuard = handedIn.isCluster ? undefined : guardAppSession(handedIn, only, closedNeverSent, heldBound);
    // Per node connection: the application's MULTI opens a transaction on one of them.
    const nodeGuards = handedIn.isCluster
      ? guardClusterAppSessions(handedIn as unknown as Cluster, only, closedNeverSent, heldBound)
      : undefined;
    this.appSessionHolds = (connection) => !!(oneNodeGuard?.holding() || nodeGuards?.holding(connection));
    this.unboundHandedIn = () => {
      untell();
      oneNodeGuard?.remove();
      nodeGuards?.remove();
      this.appSessionHolds = undefined;
      unbound();
      untypeEnd();
      this.unboundHandedIn = undefined;
    };
  }

  /**
   * The module's init failed, here or in a later step of it (the discovery of the handlers, the
   * partition layouts). Nest runs no shutdown hook after a failed init, and the application may
   * give up on it: nothing may hold the process open. The bootstrap still waiting for Redis stops,
   * and every connection is closed without reconnecting in the background (a failed AUTH in flight
   * reconnects after disconnect() unless the retry strategy says no); `init()` again resumes them.
   */
  suspend(error: unknown): void {
    // The bootstrap fails with the same error: whichever Nest hears first, the cause is reported.
    this.booting?.abort(error);
    // The application closed: close() ends every connection itself (a second disconnect() of one
    // quitting armed ioredis's timer that held the process).
    if (this.closed) return;
    // A client handed in stays connected, and is the user's: it is not watched (PINGed every
    // heartbeat, cut when a PING waits a lease) for an application given up on. A bootstrap
    // that succeeds watches it again.
    if (!this.owned.has(this.commands)) {
      this.watches.get(this.commands)?.();
      this.watches.delete(this.commands);
      this.unboundHandedIn?.();
    }
    for (const redis of this.owned) {
      const options = redis.options as RetryStrategies;
      // Suspended twice (the failed step, then the bootstrap it stopped): the user's strategies kept.
      if (!this.givenUp.has(redis)) {
        this.givenUp.set(redis, {
          retryStrategy: options.retryStrategy,
          clusterRetryStrategy: options.clusterRetryStrategy,
        });
      }
      options.retryStrategy = () => null;
      options.clusterRetryStrategy = () => null;
      // A socket open or opening closes in a later turn: init() again reconnects it once it ended.
      if (OPEN.has(redis.status) && !this.ending.has(redis)) {
        this.ending.set(
          redis,
          endedWithin(redis, END_TIMEOUT_MS).then(() => void this.ending.delete(redis)),
        );
      }
      // Often closed already: waiting to reconnect, or ended by an earlier suspend().
      disconnect(redis);
    }
  }

  /**
   * `init()` again after a failed bootstrap (Redis is up now): the connections it stopped get their
   * retry strategies back and connect again, else the second bootstrap found them closed for good.
   */
  private async resume(signal: AbortSignal): Promise<void> {
    // Bounded (endedWithin): a socket whose peer never closed it is cut, so it ends and reconnects
    // here. Given up on while still open, it read 'ready' and was left as it was, never to answer.
    await Promise.all(this.ending.values());
    // The init failed meanwhile, or the application closed: nothing is reconnected behind them.
    signal.throwIfAborted();
    for (const [redis, strategies] of this.givenUp) {
      Object.assign(redis.options, strategies);
      if (ACTIVE.has(redis.status)) continue;
      // Stopped between two reconnects, disconnect() left it 'reconnecting' (a cluster
      // 'disconnecting') rather than 'end', and a Redis its flag set by disconnect(): it would
      // end, not reconnect, at its first drop once connected again.
      if (!redis.isCluster) (redis as unknown as { manuallyClosing: boolean }).manuallyClosing = false;
      // Its failure is awaitRedis's to report, with the address and attempt.
      redis.connect().catch(() => undefined);
    }
    this.givenUp.clear();
  }

  /**
   * Resolves once this init's bootstrap succeeded: Redis answered the ready check and offers every
   * command the module needs (the command connection is then connected, after a failed init anew,
   * not the socket suspend() closed). Rejects with the bootstrap's error once it failed, or the
   * application closed. Waiting for 'ready' alone, a step ran beside the command check: on a
   * Redis the check then refused, its commands were sent all the same (a count change's freezes),
   * and the connections were closed under it.
   */
  async commandsReady(): Promise<void> {
    // A turn first: Nest calls a module's onModuleInit hooks in one loop, so this init's
    // bootstrap has begun by then, whichever hook came first.
    await Promise.resolve();
    const booted = this.booted;
    if (!booted) throw new Error('commandsReady() is for a step of the module init (onModuleInit).');
    await booted;
  }

  /**
   * A new connection with the same settings, for one purpose (blocking reads, subscriptions).
   * `watched`: made again when it stops answering for a lease (see watchReplies); a subscriber
   * gone half-open would hear nothing ever again (PING is answered in subscriber mode).
   */
  dedicated(purpose: string, { watched = false } = {}): Redis {
    const redis = this.topology.dedicated();
    this.track(redis, purpose);
    if (watched) this.watch(redis);
    return redis;
  }

  /**
   * Watches `redis` for replies, bounded by a lease, until it is released or the app closes: on a
   * cluster, each of its node connections and its subscriber connection (watchNodeReplies).
   */
  private watch(redis: Redis): void {
    if (this.watches.has(redis)) return;
    const { heartbeatIntervalMs, leaseMs } = this.config;
    // Not while the application's transaction holds the module's commands on that connection.
    const paused = (connection: Redis) => redis === this.commands && !!this.appSessionHolds?.(connection);
    const stop = isClusterClient(redis)
      ? watchNodeReplies(redis, heartbeatIntervalMs, leaseMs, paused)
      : watchReplies(redis, heartbeatIntervalMs, leaseMs, () => paused(redis));
    this.watches.set(redis, stop);
  }

  /**
   * A dedicated connection is closed now, its watch stopped (a route's, whose node failed over or
   * slot moved; the control subscriber's at a drain; an events() subscriber nobody listens to).
   */
  release(redis: Redis): void {
    this.watches.get(redis)?.();
    this.watches.delete(redis);
    this.owned.delete(redis);
    this.purposes.delete(redis);
    disconnect(redis);
  }

  /**
   * The dedicated connections that are not ready, and their status: one that lost its socket
   * and cannot get it back (Redis at maxclients, a firewall on new connections) holds what it
   * carries (the blocking reads) unsent, while the command connection answers. One never asked
   * to connect yet (lazy, 'wait') is not counted, nor one still making its first connection for
   * less than `firstConnectMs`.
   */
  unready(firstConnectMs: number): { purpose: string; status: string }[] {
    const unready: { purpose: string; status: string }[] = [];
    const now = performance.now();
    for (const [redis, { purpose, since, wasReady }] of this.purposes) {
      if (redis.status === 'ready' || redis.status === 'wait') continue;
      if (wasReady || now - since >= firstConnectMs) unready.push({ purpose, status: redis.status });
    }
    return unready;
  }

  /** Settings the heartbeat thread rebuilds its connection from (functions cannot cross threads). */
  transferableOptions(): RedisOptions {
    const thread = this.topology.threadConnection();
    return thread.kind === 'single' ? thread.options : (thread.options.redisOptions ?? {});
  }

  /** Whether the application closed its connections: nothing can be sent any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** A command's error, as ApplicationClosedError when a connection closed at shutdown refused it. */
  explain(error: Error): Error {
    return this.closed ? refusedAtClose(error) : error;
  }

  /** Calls `listener` once as the application closes (before the connections go); returns its removal. */
  whenClosing(listener: () => void): () => void {
    this.closing.add(listener);
    return () => this.closing.delete(listener);
  }

  /**
   * Runs `write` at close, after every hook of the application (an enqueue in an
   * onApplicationShutdown included) and before the connections close: the testing module's key
   * cleanup. A failure is logged; the close goes on.
   */
  beforeQuit(write: () => Promise<void>): void {
    this.lastWrites.push(write);
  }

  /** Last of all hooks: StreamQueueModule is placed after every other module at teardown. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /**
   * Closes every connection the module made. Calls made while one is under way (two app.close()
   * at once: Nest's signal hook and the application's own) wait for it: a second QUIT on a
   * connection that is quitting fails, and the disconnect() that followed armed ioredis's timer
   * (2 s) to destroy a socket that had already closed, holding the process open.
   */
  close(): Promise<void> {
    this.closingAll ??= this.closeAll().finally(() => (this.closingAll = undefined));
    return this.closingAll;
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    // A bootstrap still under way (after a failed init()) reconnects nothing now.
    this.booting?.abort(new ApplicationClosedError('The application closed during its bootstrap.'));
    for (const listener of this.closing) {
      try {
        listener();
      } catch (error) {
        this.logger.warn(`A listener of the shutdown threw: ${(error as Error).message}`);
      }
    }
    this.closing.clear();
    // Not on a connection that is down (the write would wait for a reconnect), nor for ever (a
    // frozen Redis never answers).
    for (const write of this.lastWrites.splice(0)) {
      if (this.commands.status !== 'ready') break;
      try {
        const done = await raceTimeout(write(), LAST_WRITES_TIMEOUT_MS, () => 'timeout' as const);
        if (done === 'timeout')
          this.logger.warn(`A last write before the connections close took over ${LAST_WRITES_TIMEOUT_MS} ms: left.`);
      } catch (error) {
        this.logger.warn(`A last write before the connections close failed: ${(error as Error).message}`);
      }
    }
    // From here nothing of the module's goes to a client handed in; what it still holds is withdrawn.
    this.handedIn?.refuseFrom(closedNeverSent);
    this.watches.forEach((stop) => stop());
    this.watches.clear();
    this.unboundHandedIn?.();
    await Promise.all([
      this.withdrawFromHandedIn(),
      ...[...this.owned].map(async (redis) => {
        // Not connected (Redis unreachable, or never reached): quit() would wait for a reconnect.
        if (redis.status !== 'ready') return closeUnconnected(redis);
        try {
          // A frozen Redis (stalled, or packets dropped without a reset) keeps the socket 'ready'
          // and never answers QUIT: past the bound the connection is cut, not awaited for ever.
          const quit = await raceTimeout(redis.quit(), QUIT_TIMEOUT_MS, () => 'timeout' as const);
          if (quit === 'timeout') closeUnanswering(redis);
        } catch {
          closeUnconnected(redis);
        }
      }),
    ]);
    this.owned.clear();
    this.purposes.clear();
  }

  /** The module's calls still on a client handed in (see withdrawAtClose); bounded as QUIT is. */
  private async withdrawFromHandedIn(): Promise<void> {
    if (!this.handedIn) return;
    try {
      await withdrawAtClose(this.commands, this.handedIn.isModuleCommand, QUIT_TIMEOUT_MS);
    } catch (error) {
      this.logger.warn(`Withdrawing the module's calls from the client handed in failed: ${(error as Error).message}`);
    }
  }

  /**
   * Calls held before they reach the command connection's queues (a group commit's) are bounded
   * by offlineTimeoutMs as its own queued calls are: rejected, never sent, once they waited that
   * long for a connection that is down. False for a client handed in, or a cluster: no bound.
   */
  boundHeldCalls(calls: HeldCalls): boolean {
    this.heldCalls?.push(calls);
    return this.heldCalls !== undefined;
  }

  track(redis: Redis, purpose: string): void {
    this.owned.add(redis);
    // What QueueClient's calls are rejected with when Redis stays away says whether they ran.
    // Not beyond offlineTimeoutMs, however long Redis stays away or silent (a cluster: while the
    // Cluster itself is not ready; see boundUnreadyWaits).
    if (purpose === 'commands') {
      // The topology is made after its command connection: its address is read when a call gives up.
      if (!redis.isCluster) tellUnansweredApart(redis, () => this.topology.address);
      // The group commit's held calls (boundHeldCalls) are bounded with the queues of this connection.
      const held = redis.isCluster ? undefined : (this.heldCalls = []);
      boundUnreadyWaits(redis, this.config.offlineTimeoutMs, () => this.topology.address, undefined, held);
      // Ended on its own while the application is open: what it still held typed, not bare.
      if (!redis.isCluster) {
        const { endedOnItsOwn } = watchEndedOnItsOwn(redis);
        typeEndedQueues(
          redis,
          () => this.topology.address,
          () => this.closed,
          { ended: endedOnItsOwn },
        );
      }
      // Ended for good while the application is open: each later call refused typed, not bare.
      refuseOnceEnded(
        redis,
        () => this.topology.address,
        () => this.closed,
      );
    }
    // A reconnect accepted and never answered is cut, to be made again (every connection made here).
    if (!redis.isCluster) boundReadyCheck(redis);
    if (purpose !== 'commands') {
      const tracked = { purpose, since: performance.now(), wasReady: redis.status === 'ready' };
      this.purposes.set(redis, tracked);
      redis.on('ready', () => (tracked.wasReady = true));
    }
    let failing = false;
    let connected = false;
    // ioredis reconnects by itself; log the transitions once, not every retry. Failures before
    // the first connect are bootstrap's to report (onModuleInit), with the address and attempt.
    redis.on('error', (error: Error) => {
      redactCredentials(error);
      if (failing || !connected) return;
      failing = true;
      this.logger.warn(`Redis connection (${purpose}) lost: ${error.message}; reconnecting.`);
    });
    redis.on('ready', () => {
      connected = true;
      if (!failing) return;
      failing = false;
      this.logger.log(`Redis connection (${purpose}) restored.`);
    });
  }
}

/*
 * ioredis resends, after a reconnect, commands whose reply was lost (autoResendUnfulfilledCommands).
 * That is kept on purpose: with it off, ioredis drops those commands and their promises never
 * settle. Every script tolerates a repeat (a settle answers "no longer pending", a keyed enqueue
 * or schedule() finds its own task id in the key state, a cancel() its own recorded answer); an
 * unkeyed enqueue repeated this way is added twice, which the README states.
 */

/**
 * ioredis attaches the failed command to its errors, and a failed AUTH (or HELLO) is flushed
 * to every queued command: without this, the password reaches whoever logs a rejection.
 * Emitted before those rejections are handled, so they all see the redacted copy.
 */
function redactCredentials(error: Error): void {
  const command = (error as { command?: { name?: string; args?: unknown[] } }).command;
  if (command && /^(auth|hello)$/i.test(String(command.name)) && Array.isArray(command.args)) {
    command.args = command.args.map(() => '[redacted]');
  }
}

/** The topology `connection` describes; `own` is called for a client made here (not one handed in). */
function createTopology(connection: ConnectionOptions, own: (redis: Redis) => void): Topology {
  if (isClusterClient(connection)) return new ClusterTopology(connection);
  if (isRedisClient(connection)) return new SingleTopology(connection);
  if ('cluster' in connection) {
    const { nodes, options } = connection.cluster;
    // No auto-pipelining on a cluster: ioredis batches a turn's commands per node and refuses the
    // batch ("same slots allocation group") when its slot map changes under it, failing callers.
    const cluster = new Cluster(nodes, options);
    own(cluster as unknown as Redis);
    return new ClusterTopology(cluster);
  }
  const redis =
    'url' in connection && typeof connection.url === 'string'
      ? new Redis(connection.url, { ...AUTO_PIPELINE, ...(connection as { options?: RedisOptions }).options })
      : new Redis({ ...AUTO_PIPELINE, ...(connection as RedisOptions) });
  own(redis);
  return new SingleTopology(redis);
}

/**
 * Commands issued in one event-loop turn (concurrent enqueues, a settle beside a status read)
 * go out in one write: on a loaded machine the syscalls, not Redis, bound a burst of enqueues.
 * A connection option given by the user wins.
 */
const AUTO_PIPELINE: RedisOptions = { enableAutoPipelining: true };
