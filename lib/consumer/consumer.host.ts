import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ControlChannelRefusedError, LeaseLostError } from '../errors';
import { raceTimeout } from '../race-timeout';
import { monotonicMs } from './lease';
import { isClusterClient } from '../redis/connection-check';
import { retryStrategyName } from '../redis/connection-end';
import type { QueueKeys } from '../redis/keys';
import { PartitionLayouts } from '../partitions/partition-layout';
import { RedisConnections } from '../redis/redis-connections';
import { pipelineGroups } from '../redis/topology';
import type { StreamQueueConfig } from '../stream-queue.config';
import { CONSUMER_GROUP, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { StreamQueueEvents } from '../stream-queue.events';
import { StreamQueueInstrumentation } from '../stream-queue.instrumentation';
import { redisTimeMs } from '../task/periodic-call';
import { TaskRegistry } from '../task/task.registry';
import { UNWATCH_MESSAGE, WATCH_MESSAGE } from '../client/fleet-events';
import { createConsumerName } from './consumer-name';
import { ControlSubscription } from './control-subscription';
import { FleetEventRelay } from './fleet-event-relay';
import { InFlight } from './in-flight';
import { LeaseKeeper } from './lease-keeper';
import { PauseWatch } from './pause-watch';
import { QueueConsumer } from './queue-consumer';
import type { QueueParts } from './queue-context';
import { RedisClock } from './redis-clock';
import { SharedStreamReader } from './shared-stream-reader';
import { partitionReads } from './slot-group-reads';
import { Slots } from './slots';
import { cannotInterruptWarning, UnblockableConnection } from './unblockable-connection';

/**
 * How long the close waits, before its QUIT, for the settles a drain gave up waiting for, so
 * that their events reach the fleet (see publishLastEvents). As long as the QUIT's own bound.
 */
const LATE_SETTLES_WAIT_MS = 2_000;

/**
 * @internal Runs the application's queues. It has no Nest hooks of its own: ConsumerLifecycleModule
 * calls start() after every other onApplicationBootstrap and drain() before every other
 * onModuleDestroy (see there why), so handlers run only while their dependencies are alive.
 */
@Injectable()
export class ConsumerHost {
  /** A new one after a failed start: the liveness keys of the last may still be in Redis. */
  private name = createConsumerName();
  private readonly logger = new Logger('StreamQueue');
  private readonly consumers = new Map<string, QueueConsumer>();
  private leaseKeeper?: LeaseKeeper;
  private pauseWatch?: PauseWatch;
  private control?: Redis;
  private controlSubscription?: ControlSubscription;
  private unwatchEnd?: () => void;
  private starting?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly events: StreamQueueEvents,
    private readonly instrumentation: StreamQueueInstrumentation,
    private readonly relay: FleetEventRelay,
    private readonly layouts: PartitionLayouts,
  ) {}

  get consumerName(): string {
    return this.name;
  }

  /**
   * Starts consuming; a no-op once drain() was called (a drained host never starts again). A
   * start that fails (Redis gone since the module's check) leaves nothing running and can start
   * again: `init()` again.
   */
  async start(): Promise<void> {
    if (this.stopping) return;
    try {
      await (this.starting = this.consume());
    } catch (error) {
      const drainedMeanwhile = this.stopping !== undefined;
      // Nest runs no destroy hook after a failed bootstrap: stop what was started here, and the
      // connections, as a failed module init does, or the process cannot exit (the command
      // connection reconnected for ever). init() again reconnects them.
      await this.drain();
      this.connections.suspend(error);
      if (!drainedMeanwhile) this.rearm();
      throw error;
    }
  }

  /** After a failed start, drained by it: the next start begins anew, as a worker of a new name. */
  private rearm(): void {
    this.consumers.clear();
    this.leaseKeeper = undefined;
    this.pauseWatch = undefined;
    this.control = undefined;
    this.controlSubscription = undefined;
    this.unwatchEnd = undefined;
    this.starting = undefined;
    this.stopping = undefined;
    this.name = createConsumerName();
  }

  private async consume(): Promise<void> {
    const queues = this.registry.queues();
    if (!this.config.worker || queues.length === 0) return;
    // Every partition of every queue: each worker reads them all (see the README, "Partitioned queues").
    const keysByQueue = new Map(queues.map((q) => [q, this.layouts.partitionsOf(q).all]));
    const allKeys = [...keysByQueue.values()].flat();
    const { topology } = this.connections;
    const aliveKeys = allKeys.map((k) => k.alive(this.consumerName));
    const leaseKeeper = new LeaseKeeper({
      connection: topology.threadConnection(),
      address: topology.address,
      keyGroups: pipelineGroups(this.connections.commands, aliveKeys, (key) => key),
      leaseMs: this.config.leaseMs,
      intervalMs: this.config.heartbeatIntervalMs,
      maxStallMs: this.config.maxStallMs,
      logger: this.logger,
      onLapse: (key) => this.onLeaseLapse(key),
      deleteKeys: (group) => this.connections.commands.del(...group),
    });
    this.leaseKeeper = leaseKeeper;
    await leaseKeeper.start();
    // The command connection is watched for replies by RedisConnections (producers need it too):
    // gone half-open, it would hold this worker's settles, sweeps and reads while its heartbeat
    // keeps the lease.
    const { leaseMs, heartbeatIntervalMs, blockMs } = this.config;
    const commands = this.connections.commands;
    const ended = () => this.onCommandsEnded();
    commands.once('end', ended);
    this.unwatchEnd = () => commands.off('end', ended);
    const pauseWatch = new PauseWatch(
      this.connections.commands,
      keysByQueue,
      this.config.heartbeatIntervalMs,
      this.logger,
    );
    this.pauseWatch = pauseWatch;
    await this.listenForControl(allKeys);
    // After subscribing (no notice falls between the read and the subscription), before any
    // consumer starts: a worker that boots while a queue is paused starts nothing of it.
    await pauseWatch.start();
    await this.relay.checkWatched(queues);
    const readers = new Map<number, SharedStreamReader>();
    const cannotInterrupt = cannotInterruptWarning(this.logger);
    /*
     * One blocking read serves every queue whose stream shares its group: on one Redis that is all
     * of them, one connection in all. A multi-key XREADGROUP must stay in one hash slot on a
     * cluster, so there each slot (in practice each queue, or each partition) gets a blocking
     * connection of its own, to the master serving it: a worker holds one blocking connection per
     * slot it reads, plus one per master for commands. Fewer would mean polling without BLOCK
     * (latency, and load that grows with idle queues) instead.
     */
    const readerOf = (stream: string): SharedStreamReader => {
      const group = topology.groupOf(stream);
      let reader = readers.get(group);
      if (!reader) {
        reader = new SharedStreamReader(
          // A read may block for blockMs before its answer is due.
          new UnblockableConnection(topology.blockingRoute(stream, this.connections), cannotInterrupt, {
            intervalMs: heartbeatIntervalMs,
            boundMs: blockMs + leaseMs,
          }),
          {
            group: CONSUMER_GROUP,
            consumer: this.consumerName,
            blockMs: this.config.blockMs,
            heartbeatIntervalMs: this.config.heartbeatIntervalMs,
            lease: leaseKeeper,
          },
        );
        readers.set(group, reader);
      }
      return reader;
    };
    if (this.config.runContext) this.instrumentation.enableRunContext();
    const runWrapper = this.instrumentation.runWrapper();
    const redisClock = new RedisClock(await redisTimeMs(this.connections.commands));
    for (const [queue, partitions] of keysByQueue) {
      // The queue's partitions share its slots: the concurrency holds across them.
      const slots = new Slots(this.config.concurrency);
      const parts = partitions.map((keys): QueueParts => ({
        queue,
        keys,
        group: CONSUMER_GROUP,
        consumer: this.consumerName,
        redis: this.connections.commands,
        config: this.config,
        events: this.events,
        logger: this.logger,
        inFlight: new InFlight(),
        slots,
        lease: leaseKeeper,
        runWrapper,
        redisClock,
      }));
      // One call reads all partitions sharing a slot group (on one Redis: all of them).
      const reads = partitionReads(parts, (stream) => topology.groupOf(stream), readerOf);
      const consumer = new QueueConsumer(parts, reads, this.registry, pauseWatch.gate(queue));
      await consumer.start();
      this.consumers.set(queue, consumer);
    }
    this.logger.log(
      `Consuming ${queues.map((q) => `"${q}"`).join(', ')} as ${this.consumerName} (concurrency ${this.config.concurrency}).`,
    );
  }

  /**
   * @internal For the health check: whether this process consumes at all, whether its lease is
   * held, and per queue it handles, whether that queue's consumer runs, and its reads',
   * admissions', settles' and promotions' streaks of failures.
   */
  status(): {
    worker: boolean;
    leaseHeld: boolean;
    queues: Record<string, boolean>;
    failingReads: Record<string, { forMs: number; message: string }>;
    failingAdmissions: Record<string, { forMs: number; message: string }>;
    failingSettles: Record<string, { forMs: number; message: string }>;
    failingPromotions: Record<string, { forMs: number; message: string }>;
  } {
    const queues = this.config.worker ? this.registry.queues() : [];
    const failingReads: Record<string, { forMs: number; message: string }> = {};
    const failingAdmissions: Record<string, { forMs: number; message: string }> = {};
    const failingSettles: Record<string, { forMs: number; message: string }> = {};
    const failingPromotions: Record<string, { forMs: number; message: string }> = {};
    for (const q of queues) {
      const failing = this.consumers.get(q)?.failingReads;
      if (failing) failingReads[q] = failing;
      const unadmitted = this.consumers.get(q)?.failingAdmissions;
      if (unadmitted) failingAdmissions[q] = unadmitted;
      const unsettled = this.consumers.get(q)?.failingSettles;
      if (unsettled) failingSettles[q] = unsettled;
      const unpromoted = this.consumers.get(q)?.failingPromotions;
      if (unpromoted) failingPromotions[q] = unpromoted;
    }
    return {
      worker: queues.length > 0,
      // A drain deletes the liveness keys (or leaves them to expire): the lease is given up whatever the keeper last saw.
      leaseHeld: !this.stopping && (this.leaseKeeper?.isHeld() ?? false),
      queues: Object.fromEntries(queues.map((q) => [q, this.consumers.get(q)?.running ?? false])),
      failingReads,
      failingAdmissions,
      failingSettles,
      failingPromotions,
    };
  }

  /** Stops reading and waits for in-flight runs, up to shutdownTimeoutMs. Idempotent. */
  drain(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    // A drain() called while starting waits for the start, then stops what it started.
    await this.starting?.catch(() => undefined);
    let allDrained = true;
    let settlesAnswered = true;
    await Promise.all(
      [...this.consumers.values()].map(async (consumer) => {
        try {
          const stopped = await consumer.stop();
          allDrained = stopped.drained && allDrained;
          settlesAnswered = stopped.settlesAnswered && settlesAnswered;
        } catch (error) {
          allDrained = false;
          this.logger.error(`Stopping a consumer failed: ${(error as Error).message}`);
        }
      }),
    );
    this.pauseWatch?.stop();
    this.unwatchEnd?.();
    if (!settlesAnswered) {
      this.logger.warn(
        `Shutdown: a settle sent on the command connection is still unanswered; worker ${this.consumerName}'s liveness keys are left to expire (leaseMs ${this.config.leaseMs}), not deleted, so no other worker takes over a run whose settle may still reach Redis.`,
      );
    }
    try {
      // Deleting the liveness keys hands anything still pending to other workers at once: only
      // once every settle sent was answered, or the DEL, sent on the heartbeat thread's own
      // connection, could reach Redis before a settle still on its way (see QueueConsumer.stop).
      await this.leaseKeeper?.stop(settlesAnswered);
    } catch (error) {
      this.logger.error(`Stopping the heartbeat failed: ${(error as Error).message}`);
    }
    // Closed, not unsubscribed: an UNSUBSCRIBE waits for Redis, so a drain while Redis is
    // unreachable would last until ioredis gives the command up (never, by maxRetriesPerRequest null).
    this.controlSubscription?.stop();
    if (this.control) this.connections.release(this.control);
    this.connections.beforeQuit(() => this.publishLastEvents());
    if (!allDrained) this.logger.warn('Shutdown deadline passed with runs in flight; other workers reclaim them.');
  }

  /**
   * Run just before the connections' QUIT: a settle the drain gave up waiting for (past
   * shutdownTimeoutMs) may still be answered, its task settled in Redis; its event goes out ahead
   * of the QUIT, which follows it on the same connection and after which nothing can be sent.
   * The settles and the publishes are waited for LATE_SETTLES_WAIT_MS in all (a frozen Redis
   * never answers); the relay publishes what it holds and stops listening either way.
   */
  private async publishLastEvents(): Promise<void> {
    const until = monotonicMs() + LATE_SETTLES_WAIT_MS;
    const answered = Promise.all([...this.consumers.values()].map((c) => c.settlesAnswered()));
    await raceTimeout(answered, LATE_SETTLES_WAIT_MS, () => undefined);
    // Sent ahead of the QUIT whatever happens: their replies are waited for within the same bound.
    await raceTimeout(this.relay.close(), Math.max(0, until - monotonicMs()), () => undefined);
  }

  /**
   * The command connection ended for good (a retryStrategy that gives up; the application's
   * close has not begun): nothing can be settled or read any more, while the heartbeat thread,
   * which reconnects on ioredis's own schedule, would renew this worker's liveness for ever, so
   * no other worker could take its runs over. It gives its lease up (the keys expire, or are
   * deleted if Redis answers), aborts its runs and stops consuming.
   */
  private onCommandsEnded(): void {
    if (this.stopping || this.connections.isClosed) return;
    const strategy = retryStrategyName(this.connections.commands);
    this.logger.error(
      `Redis connection (commands) ended for good (its ${strategy} gave up): worker ${this.consumerName} gives its lease up, so other workers take its runs over, and stops consuming.`,
    );
    void this.leaseKeeper?.stop(true).catch(() => undefined);
    this.onLeaseLapse();
    void this.drain();
  }

  private onLeaseLapse(key?: string): void {
    const reason = new LeaseLostError(
      `Worker ${this.consumerName} missed its heartbeat for longer than the lease; its runs may have been taken over.`,
    );
    let keyed = false;
    for (const [queue, consumer] of this.consumers) {
      for (const d of consumer.abortAll(reason)) {
        keyed ||= d.message.key !== undefined;
        this.events.emit({ type: 'lease-lost', queue, taskId: d.message.id, name: d.message.name, key: d.message.key });
      }
    }
    // Aborted before any key lapsed: their lease's value must go, or a stranded one of them would
    // be judged held by this worker for good (a lapse wrote new values already).
    if (keyed && key === 'unconfirmed') this.leaseKeeper?.renewIncarnation();
    this.logger.warn(reason.message);
  }

  /**
   * replace() and cancel() publish the key whose running run must stop; enqueues publish 'due'
   * when a delayed task becomes the earliest, so it is promoted on time; pause() and resume()
   * publish 'paused:<version>' / 'resumed:<version>'; events() subscribers 'watch' and 'unwatch'.
   */
  private async listenForControl(keys: QueueKeys[]): Promise<void> {
    const byChannel = new Map(keys.map((k) => [k.controlChannel, k.queue]));
    // Watched: a subscriber gone half-open would hear nothing ever again (PING is answered in
    // subscriber mode), so it is made again when it stops answering for a lease.
    this.control = this.connections.dedicated('control', { watched: true });
    // Subscribed again by us alone after a drop (ControlSubscription): ioredis's own SUBSCRIBE, sent with no
    // handler, rejected unhandled when Redis refused it (an ACL change took a channel from the
    // user, and Redis dropped the connection), which ends a Node process. A cluster's is handled.
    if (!isClusterClient(this.control)) this.control.options.autoResubscribe = false;
    this.control.on('message', (channel: string, message: string) => {
      const queue = byChannel.get(channel);
      if (queue && message === 'due') return this.consumers.get(queue)?.promoteSoon();
      if (queue && message === WATCH_MESSAGE) return this.relay.watched(queue);
      if (queue && message === UNWATCH_MESSAGE) return this.relay.unwatched(queue);
      const pause = /^(paused|resumed):(\d+)$/.exec(message);
      if (queue && pause) return this.pauseWatch?.notice(queue, pause[1] === 'paused', Number(pause[2]));
      // '<why>:<generation>:<key>' (keys may hold ':'); runs of older generations stop.
      const match = /^(superseded|cancelled):(\d+):(.+)$/s.exec(message);
      if (!queue || !match) return;
      this.consumers.get(queue)?.abortKey(match[3], match[1] as 'superseded' | 'cancelled', Number(match[2]));
    });
    const queues = [...new Set(byChannel.values())];
    this.controlSubscription = new ControlSubscription({
      control: this.control,
      channels: [...byChannel.keys()],
      consumerName: this.consumerName,
      logger: this.logger,
      // Notices published while a channel went unheard are lost: each keyed run in flight checks
      // its key itself, and the relay asks whether each queue is watched (a watcher's
      // announcement may be among the lost).
      heardAgain: () =>
        Promise.all([...[...this.consumers.values()].map((c) => c.recheckKeys()), this.relay.checkWatched(queues)]),
      refusedAtStart: (refused) => this.controlRefused(refused, byChannel),
    });
    await this.controlSubscription.start();
  }

  /** The start's error for control channels Redis refused: each named, with its queue and the grant. */
  private controlRefused(
    refused: readonly { channel: string; error: Error }[],
    queueOf: ReadonlyMap<string, string>,
  ): ControlChannelRefusedError {
    const named = refused.map(({ channel }) => `${channel} (queue "${queueOf.get(channel)}")`).join(', ');
    const grants = refused.map(({ channel }) => `&${channel}`).join(' ');
    return new ControlChannelRefusedError(
      refused.map((r) => r.channel),
      `Worker ${this.consumerName} cannot start: Redis refused the SUBSCRIBE to ${named}: ${refused[0].error.message}. ` +
        `Through it a worker hears cancel(), replace(), pause(), due delayed tasks and events() watchers. Grant its ACL ` +
        `user the channel (${grants}, or every channel of the prefix, &{${this.config.prefix}:*, as in the README's ACL ` +
        `block) and the subscribe command.`,
      refused[0].error,
    );
  }
}
