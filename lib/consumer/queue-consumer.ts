import { Subject, type Subscription } from 'rxjs';
import { StreamQueueError } from '../errors';
import { raceTimeout } from '../race-timeout';
import type { TaskRegistry } from '../task/task.registry';
import { DeadLetterer } from './dead-letterer';
import type { Delivery } from './delivery';
import { Intake, type Handover } from './intake';
import type { Outcome } from './outcome';
import type { PauseGate } from './pause-gate';
import type { QueueContext, QueueParts } from './queue-context';
import { createQueuePipeline } from './queue-pipeline';
import { Settler } from './settler';
import type { PartitionReads } from './slot-group-reads';
import { ShutdownAbortError } from '../errors/shutdown-abort.error';
import { Sweeper } from './sweeper';
import { TaskRunner } from './task-runner';
import type { FlowLimits } from '../scripts/enqueue-flow.script';
import { partitionOfGroup } from '../partitions/queue-partitions';
import { flowLimitsOf, hasFlowLimits, hasGroupLimit } from '../task/flow-limits';
import { monotonicMs } from './lease';
import { RateHold } from './rate-hold';
import { giveBackUnstarted } from './give-back-unstarted';
import { recordLimitsScript } from '../scripts/record-limits.script';
import { isWrongType } from '../redis/wrong-type';
import { refusedByFrozenLayout } from '../partitions/layout-record';
import { UnprovenRetakes } from './unproven-retakes';

/** The parts that work on one partition's keys (its own in-flight set; the queue's slots). */
interface Lane {
  readonly ctx: QueueContext;
  readonly intake: Intake;
  readonly sweeper: Sweeper;
  readonly settler: Settler;
  readonly retakes: UnprovenRetakes;
}

/**
 * @internal Consumes one queue: builds its pipeline, subscribes it, and stops it by closing the
 * sources first, so in-flight runs finish and settle before the connections go.
 *
 * A partitioned queue has one lane per partition: admission (claim), sweeps (recovery, reclaim
 * under the partition's sweep lock), promotion and settles run on that partition's keys, inside
 * its slot. The lanes share one pipeline, so the queue's concurrency holds across partitions.
 *
 * While the queue is paused (its PauseGate), nothing new comes in and nothing starts: no read,
 * no sweep (a dead worker's entries stay pending until the resume, so a pause never counts
 * deliveries against them), and a delivery already admitted waits before its handler. Promotion
 * and settles go on: due tasks wait in the stream, runs in flight settle.
 */
export class QueueConsumer {
  private readonly stop$ = new Subject<void>();
  private readonly promoteSoon$ = new Subject<void>();
  /** Set when a promotion is asked for: one asked while a promotion runs follows it at once. */
  private promoteAsked = false;
  /** A rate-limited start left its window since the last promotion: serve wakes first. */
  private wakeDue = false;
  /** Promotions planned for when rate-limited starts leave their windows, by due time. */
  private readonly promoteTimers = new Map<number, NodeJS.Timeout>();
  private readonly rateHold = new RateHold();
  private stopping = false;
  /** The shutdown deadline passed: nothing handed over from now on starts (see admitTo). */
  private pastDeadline = false;
  /** The read and the sweep last sent (one of each at a time: the read loop, exhaustMap), for stop(). */
  private reading?: Promise<unknown>;
  private sweeping?: Promise<unknown>;
  private retaking?: Promise<unknown>;
  /**
   * The settles sent and not yet answered (nor failed), for stop(): the liveness keys must not go
   * before them (see stop). One at a time in practice (settleInBatches), a set all the same.
   */
  private readonly settling = new Set<Promise<unknown>>();
  /** The sweep or retake under way, which the next one waits for (see inTurn). */
  private taking: Promise<unknown> = Promise.resolve();
  /** A beat Redis confirmed while runs given back unproven wait (see UnprovenRetakes). */
  private readonly retakeDue$ = new Subject<void>();
  private unwatchBeats?: () => void;
  /** The reads' current streak of failures (see failingReads). */
  private readFailure?: { since: number; message: unknown; retrying: boolean };
  /** The runs handed back unsettled: since when each one's settle failed, and why it last did (see failingSettles). */
  private readonly unsettled = new Map<Outcome, { since: number; message: string }>();
  private subscription?: Subscription;
  private drained!: Promise<void>;
  private readonly lanes: readonly Lane[];
  /** The lane each delivery came in by, for its settle and release. */
  private readonly laneOf = new WeakMap<Delivery, Lane>();
  private readonly ctx: QueueContext;
  /** Partitions a key of another type kept this worker's limits from (see recordLimits). */
  private readonly limitsUnrecorded = new Set<Lane>();
  /** This worker's limited task names of the queue (definitions are fixed once consumers start). */
  private limited?: string[];

  constructor(
    partitions: readonly QueueParts[],
    private readonly reader: PartitionReads,
    private readonly registry: TaskRegistry,
    private readonly pause: PauseGate,
  ) {
    // A delayed task this worker added (retry, successor, deferral) wakes this queue's promoter.
    const contexts = partitions.map((parts): QueueContext => ({
      ...parts,
      delayedAdded: () => this.promoteSoon(),
      promoteIn: (ms) => this.promoteIn(ms),
    }));
    this.ctx = contexts[0];
    // Every worker reads every partition (consumer.host.ts): their number is the count.
    const count = contexts.length;
    // Only a task with a group limit has its ungrouped runs counted in one partition: Intake walks
    // a batch for its plain entries landed elsewhere only when the queue has one.
    const groupLimited = registry.names().some((name) => {
      const { options } = registry.get(name)!;
      return options.queue === contexts[0].queue && hasGroupLimit(options);
    });
    const layout = { count, ungrouped: partitionOfGroup(undefined, count), groupLimited };
    this.lanes = contexts.map((ctx) => {
      // Read per delivery: kept per task name, as definitions are fixed once consumers start.
      // Only defined names: anyone can write an entry with a name of its own.
      const limitsByName = new Map<string, FlowLimits | undefined>();
      const limitsOf = (name: string) => {
        if (limitsByName.has(name)) return limitsByName.get(name);
        const definition = registry.get(name);
        if (!definition) return undefined;
        // Limits bind on the task's own queue only (an enqueue with the definition names no
        // other: enqueue-input.ts), as this partition enforces them (its share of the task's own limits).
        const limits =
          definition.options.queue === ctx.queue
            ? flowLimitsOf(definition.options, ctx.config.priorityAgingMs, ctx.keys.partition, count)
            : undefined;
        limitsByName.set(name, limits);
        return limits;
      };
      // A dead-lettered periodic run's successor is timed from this worker's definitions too.
      const deadLetterer = new DeadLetterer(ctx, (name) => registry.get(name));
      // Its rate limits' start records are trimmed by the sweeps of the workers that run it.
      const rated = registry.names().some((name) => {
        const { options } = registry.get(name)!;
        return options.queue === ctx.queue && (options.rateLimit !== undefined || options.groupRateLimit !== undefined);
      });
      const sweeper = new Sweeper(ctx, deadLetterer, rated);
      const retakes = new UnprovenRetakes(ctx);
      return {
        ctx,
        intake: new Intake(ctx, limitsOf, deadLetterer, () => sweeper.recoveryPassMs(), layout, retakes),
        sweeper,
        settler: new Settler(ctx),
        retakes,
      };
    });
  }

  async start(): Promise<void> {
    await this.reader.ensureGroup();
    await this.recordLimits();
    if (this.pause.isPaused) this.reader.pause();
    this.pause.onChange((paused) => (paused ? this.reader.pause() : this.reader.resume()));
    const runner = new TaskRunner(
      this.registry,
      this.ctx.queue,
      this.ctx.consumer,
      this.ctx.lease,
      this.ctx.runWrapper,
    );
    const read = async () => {
      if (this.pause.isPaused) {
        // No read is tried while paused: a streak of failures from before the pause (a blip, often
        // why it was paused) says nothing of Redis now, and used to grow for the whole pause.
        this.readFailure = undefined;
        await this.pause.whenOpen();
      }
      // Retried: a blocking read that Redis took waits (blockMs) before it answers, as it should.
      if (this.readFailure) this.readFailure.retrying = true;
      const deliveries = await this.read();
      this.readFailure = undefined;
      return deliveries;
    };
    this.unwatchBeats = this.ctx.lease.onConfirmed?.(() => {
      if (this.lanes.some(({ retakes }) => retakes.size > 0)) this.retakeDue$.next();
    });
    const pipeline = createQueuePipeline({
      read: () => (this.reading = read()),
      sweep: () => (this.sweeping = this.inTurn(() => this.sweep())),
      retakes: { due$: this.retakeDue$, take: () => (this.retaking = this.inTurn(() => this.retake())) },
      promote: async () => {
        this.promoteAsked = false;
        const wakes = this.wakeDue;
        this.wakeDue = false;
        const next = Math.min(...(await Promise.all(this.lanes.map((lane) => lane.sweeper.promote(wakes)))));
        return this.promoteAsked ? 0 : next;
      },
      run: (delivery) => this.runWhenFree(delivery, runner),
      onRunEnd: (outcome) => outcome.delivery.slot.finish(),
      settle: (outcomes) => this.settleTracked(outcomes),
      onError: (source, error, attempt) => {
        if (source === 'read') {
          const since = this.readFailure?.since ?? monotonicMs();
          this.readFailure = { since, message: (error as Error)?.message, retrying: false };
        }
        if (attempt <= 1 || attempt % 10 === 0) {
          this.ctx.logger.warn(`Queue "${this.ctx.queue}" ${source} failed (${(error as Error).message}); retrying.`);
        }
      },
      stop$: this.stop$,
      promoteSoon$: this.promoteSoon$,
      isStopping: () => this.stopping,
      concurrency: this.ctx.config.concurrency,
      sweepIntervalMs: this.ctx.config.sweepIntervalMs,
      ackBatchMs: this.ctx.config.ackBatchMs,
    });
    this.drained = new Promise<void>((resolve) => {
      this.subscription = pipeline.subscribe({
        next: (outcome: Outcome) => this.release(outcome.delivery),
        error: (error: Error) => {
          this.ctx.logger.error(`Queue "${this.ctx.queue}" stopped on an unexpected error: ${error.message}`);
          resolve();
        },
        complete: () => resolve(),
      });
    });
  }

  /**
   * Records the limits of this worker's limited tasks of the queue in each partition, each its
   * share of the tasks' own limits (flowLimitsOf), before its first read (record-limits.lua): a
   * producer without their definitions records none, so a partition no enqueue of a process with
   * them reached would admit them unlimited. One call per partition. A failure fails the start, as the group's creation does: a worker that could not
   * record its limits would leave them unenforced for such producers, unseen. But a key of
   * another type (WRONGTYPE: anyone with Redis access can SET one) refuses every flow call and
   * append of its partition until it is gone, so nothing runs there unlimited meanwhile; failing
   * the start for it stopped every queue of the worker (ensureGroup leaves such a stream to the
   * reads for that reason). It is warned, and the partition recorded again at each sweep; so is a
   * layout record another process froze after this one's bootstrap adopted the count.
   */
  private async recordLimits(lanes: readonly Lane[] = this.lanes, atStart = true): Promise<void> {
    const count = this.lanes.length;
    // Each partition records its own share of the tasks' own limits (flowLimitsOf).
    const limitedIn = (partition: number) =>
      this.registry.names().flatMap((name) => {
        const { options } = this.registry.get(name)!;
        const limits =
          options.queue === this.ctx.queue
            ? flowLimitsOf(options, this.ctx.config.priorityAgingMs, partition, count)
            : undefined;
        return limits ? [{ name, limits }] : [];
      });
    if (limitedIn(0).length === 0) return;
    await Promise.all(
      lanes.map(async (lane) => {
        const { ctx } = lane;
        const limited = limitedIn(ctx.keys.partition);
        try {
          await recordLimitsScript(ctx.keys, limited, count).run(ctx.redis);
          this.limitsUnrecorded.delete(lane);
        } catch (error) {
          const message = `Queue "${ctx.queue}": recording the tasks' limits in partition ${ctx.keys.partition} failed: ${(error as Error).message}`;
          // A frozen record ('<from>><to>': another process's count change or lost record's
          // restore, frozen after this process adopted the count) holds every checked write of
          // the partition, as a key of another type does, for moments: it commits or thaws.
          if (!isWrongType(error) && !refusedByFrozenLayout(error)) {
            if (atStart) throw new Error(message, { cause: error });
          } else if (atStart) {
            ctx.logger.warn(`${message}; retried at each sweep.`);
          }
          this.limitsUnrecorded.add(lane);
        }
      }),
    );
  }

  /**
   * Marks for recording again the partitions whose limits Redis lost since they were recorded
   * (restarted without persistence, flushed, the key deleted): only a worker's start records them
   * for producers without the tasks' definitions, whose tasks were admitted unlimited until the
   * next one. One HMGET per partition per sweep, of this worker's limited task names.
   */
  private async noteLimitsLost(): Promise<void> {
    const names = this.limitedNames();
    if (names.length === 0) return;
    await Promise.all(
      this.lanes.map(async ({ ctx }, i) => {
        const stored = await ctx.redis.hmget(ctx.keys.flow.limits, ...names).catch(() => undefined);
        // A failed read (a key of another type, a lost connection) is left to recordLimits' own.
        if (stored?.some((limits) => limits === null)) this.limitsUnrecorded.add(this.lanes[i]);
      }),
    );
  }

  /** The names of this worker's tasks of the queue that have limits. */
  private limitedNames(): string[] {
    return (this.limited ??= this.registry.names().filter((name) => {
      const { options } = this.registry.get(name)!;
      return options.queue === this.ctx.queue && hasFlowLimits(options);
    }));
  }

  /** Its pipeline is subscribed and not stopping (or stopped on an unexpected error). */
  get running(): boolean {
    return this.subscription !== undefined && !this.subscription.closed && !this.stopping;
  }

  /**
   * Since when every read of the queue failed, and the last failure's message, while the loop
   * waits to retry: undefined while a retry is in flight, once the pause holds it (the streak
   * ends: nothing is tried while paused), and once a read succeeds. A pipeline
   * whose reads fail on every try is subscribed, so `running`, yet consumes nothing.
   */
  get failingReads(): { forMs: number; message: string } | undefined {
    const failure = this.readFailure;
    if (!failure || failure.retrying) return undefined;
    return { forMs: Math.round(monotonicMs() - failure.since), message: String(failure.message) };
  }

  /**
   * Since when the run whose settle has failed the longest has been failing, and why it last did:
   * undefined once Redis answered for every run. A worker whose every settle fails (an ACL that
   * refuses a command the settle scripts call) reads and runs until its finished runs fill its
   * slots, then reads nothing, its lease holding those runs for good: its reads never fail. One
   * run refused for good (its dead letter's stream out of ids) is held so too, beside runs that
   * settle: its task is never reclaimed, retried nor dead-lettered while this worker lives.
   */
  get failingSettles(): Streak | undefined {
    let oldest: { since: number; message: string } | undefined;
    for (const failure of this.unsettled.values()) if (!oldest || failure.since < oldest.since) oldest = failure;
    return oldest && { forMs: Math.round(monotonicMs() - oldest.since), message: oldest.message };
  }

  /** The longest streak of failed admissions among the queue's partitions (see Intake). */
  get failingAdmissions(): Streak | undefined {
    return longestStreak(this.lanes.map(({ intake }) => intake.failingAdmissions));
  }

  /** The longest streak of failed promotions among the queue's partitions (see Sweeper). */
  get failingPromotions(): Streak | undefined {
    return longestStreak(this.lanes.map(({ sweeper }) => sweeper.failingPromotions));
  }

  /** A delayed task became due sooner than planned (a producer said so, or this worker added one). */
  promoteSoon(): void {
    this.promoteAsked = true;
    this.promoteSoon$.next();
  }

  /**
   * Promotes in `ms` (a rate-limited start leaves its window then; see Intake). One timer per
   * due millisecond, however many starts a claim batch made. Only within a sweep interval: the
   * promotion loop reads the wakes (read-due.lua) at least once per sweep interval, so a wake
   * due later is read before it falls due and the loop sleeps until it. A timer per start of a
   * long window (a day, or up to 24.8 days) was held for the whole window, one per start made
   * meanwhile.
   */
  private promoteIn(ms: number): void {
    if (this.stopping || ms > this.ctx.config.sweepIntervalMs) return;
    const due = monotonicMs() + ms + 1;
    if (this.promoteTimers.has(due)) return;
    const timer = setTimeout(() => {
      this.promoteTimers.delete(due);
      this.wakeDue = true;
      this.promoteSoon();
    }, ms + 1);
    this.promoteTimers.set(due, timer);
  }

  /**
   * Starts a delivery's run once nothing holds it: not while the queue is paused, and not before
   * a rate-limited run has its token. One held by the pause, or whose counted start went stale
   * (claimWentStale), is claimed again first: it starts now, so its start record moves to now,
   * or, once that record left its window, it needs a token as a restart does. And so
   * the two waits alternate: a pause that came during a rate wait holds the run again, until
   * it is open and the run has its token at once. An abort (the consumer's stop among them)
   * ends either wait: the runner then leaves the run unstarted.
   */
  private runWhenFree(delivery: Delivery, runner: TaskRunner): Promise<Outcome> {
    // Nothing holds it (the common case): the runner's own promise, no async frame of ours around
    // it. Each promise costs a run a little, and more where Node's promise hooks are on (an
    // AsyncLocalStorage entered, as tracing's context manager does, on Node 20 and 22).
    if (!this.pause.isPaused && !waitsForToken(delivery) && !claimWentStale(delivery)) return runner.run(delivery);
    return this.waitThenRun(delivery, runner);
  }

  /** runWhenFree's waits: the pause, then the rate token, in turn until neither holds the run. */
  private async waitThenRun(delivery: Delivery, runner: TaskRunner): Promise<Outcome> {
    const lane = this.laneOf.get(delivery) ?? this.lanes[0];
    for (;;) {
      if (this.pause.isPaused) {
        await this.pause.beforeRun(delivery);
        if (lane.intake.isRated(delivery.message)) delivery.rateWaitMs ??= 0;
      }
      if (!waitsForToken(delivery)) return runner.run(delivery);
      await this.rateHold.hold(
        delivery,
        (d) => lane.intake.claimAgain(d),
        () => this.pause.isPaused,
        lane.ctx.keys.partition,
      );
    }
  }

  /**
   * Aborts the runs of `key` older than `generation` (superseded or cancelled elsewhere); their
   * settle writes nothing. The message can arrive after the new generation started here: it
   * must not stop that one.
   */
  abortKey(key: string, why: 'superseded' | 'cancelled', generation: number): void {
    const reason = new StreamQueueError(why.toUpperCase(), `The run of key "${key}" was ${why}.`);
    for (const { ctx } of this.lanes) {
      ctx.inFlight.abort(reason, (d) => d.message.key === key && d.message.generation < generation);
    }
  }

  /**
   * A notice of abortKey's sent while the control connection was cut is lost: each keyed run in
   * flight reads its key's generation instead, and a run behind it aborts as the notice would
   * have made it. (A generation that does not read as one is left alone.)
   */
  async recheckKeys(): Promise<void> {
    await Promise.all(
      this.lanes.map(async ({ ctx }) => {
        const runs = ctx.inFlight.matching((d) => d.message.key !== undefined && d.message.generation > 0);
        const states = await Promise.all(
          runs.map((d) => ctx.redis.hmget(ctx.keys.keyState(d.message.key!), 'gen', 'state').catch(() => [null, null])),
        );
        runs.forEach((d, i) => {
          const [gen, state] = states[i];
          const stored = Number(gen);
          if (gen === null || !Number.isSafeInteger(stored) || stored <= d.message.generation) return;
          this.abortKey(d.message.key!, state === 'cancelled' ? 'cancelled' : 'superseded', stored);
        });
      }),
    );
  }

  /** Aborts every run: this worker's liveness lapsed, so another may have taken them over. */
  abortAll(reason: Error): Delivery[] {
    return this.lanes.flatMap(({ ctx }) => ctx.inFlight.abort(reason));
  }

  /**
   * Stops reading, waits for in-flight runs up to the deadline, then abandons the rest.
   * `settlesAnswered`: no settle is left sent and unanswered. One that is (a command connection
   * backed up past the deadline and its second of grace) may still reach Redis: the liveness keys
   * must then expire rather than be deleted (ConsumerHost.stop), or the heartbeat thread's DEL, on
   * a connection of its own, could run first and another worker take over and run again a run
   * that finished in time, its settle then refused.
   */
  async stop(): Promise<{ drained: boolean; settlesAnswered: boolean }> {
    if (!this.subscription) return { drained: true, settlesAnswered: true };
    this.stopping = true;
    this.unwatchBeats?.();
    this.stop$.next();
    this.ctx.slots.close();
    this.reader.close();
    this.pause.stop(ShutdownAbortError.notStarted('the queue is paused'));
    this.rateHold.stop(ShutdownAbortError.notStarted('the run waits for a rate token'));
    for (const timer of this.promoteTimers.values()) clearTimeout(timer);
    this.promoteTimers.clear();
    const { shutdownTimeoutMs } = this.ctx.config;
    const drainedInTime = await raceTimeout(
      this.drained.then(() => true),
      shutdownTimeoutMs,
      () => false,
    );
    if (!drainedInTime) {
      this.pastDeadline = true;
      const abandoned = this.abortAll(new ShutdownAbortError(shutdownTimeoutMs));
      this.ctx.logger.warn(
        `Queue "${this.ctx.queue}": ${abandoned.length} run(s) outlived the shutdown deadline; their signals were aborted and they are left to be reclaimed.`,
      );
      // Runs admitted but queued for a slot that such a handler holds never start now (aborted),
      // and may never reach a settle: their deliveries go back here, before the liveness key goes.
      const waitUntil = monotonicMs() + AFTER_DEADLINE_MS;
      await Promise.all([
        raceTimeout(this.drained, AFTER_DEADLINE_MS, () => undefined),
        raceTimeout(this.giveBackQueued(), AFTER_DEADLINE_MS, () => undefined),
      ]);
      this.subscription.unsubscribe();
      // A read or sweep still waiting for its reply took its entries in Redis, each counted a
      // delivery: what it took goes back when the reply comes (admitTo), waited for within the
      // same second so that it goes back before the liveness key does. A reply later than that
      // is given back when it comes, while the connection is still open.
      // A settle sent is waited for within that second as well.
      const sources = Promise.allSettled([this.reading, this.sweeping, this.retaking, ...this.settling]);
      await raceTimeout(sources, Math.max(0, waitUntil - monotonicMs()), () => undefined);
    } else {
      this.subscription.unsubscribe();
    }
    const inFlight = this.lanes.reduce((n, { ctx }) => n + ctx.inFlight.size, 0);
    return { drained: drainedInTime && inFlight === 0, settlesAnswered: this.settling.size === 0 };
  }

  /**
   * Gives back the deliveries of the runs still held whose handler was never called (see
   * settleLane); a run that a settle gives back as well is given back once (uncount.lua).
   */
  private async giveBackQueued(): Promise<void> {
    await Promise.all(
      this.lanes.map(({ ctx }) =>
        giveBackUnstarted(
          ctx,
          ctx.inFlight.matching((d) => !d.handlerCalled),
        ),
      ),
    );
  }

  /**
   * One read, admitted. A stopping consumer reads no more, but its reader still holds what its
   * reads cut short by stop() got (on a cluster, another slot group's read stays in flight while
   * one group's answer is admitted): a read after the reader closed sends nothing and collects
   * those, so they run like any other instead of waiting, unrun, for a reclaim.
   */
  private async read(): Promise<Delivery[]> {
    const admitted = await this.admit(await this.reader.read());
    if (!this.stopping) return admitted;
    // An error left for this read came with nothing read: the deliveries above must still run.
    const rest = await this.reader.read().catch((): Handover[] => []);
    return [...admitted, ...(await this.admit(rest))];
  }

  /** Admits each partition's entries through its own lane (one Handover per partition, in order). */
  private async admit(handovers: Handover[]): Promise<Delivery[]> {
    const admitted = await Promise.all(
      handovers.map((handover, p) => (handover.entries.length > 0 ? this.admitTo(this.lanes[p], handover) : [])),
    );
    return admitted.flat();
  }

  private async admitTo(lane: Lane, handover: Handover): Promise<Delivery[]> {
    const deliveries = await lane.intake.admit(handover);
    // Past the shutdown deadline nothing starts: a run started now would be abandoned by the
    // teardown with its signal live, its liveness key about to go. What a read or sweep answered
    // then (its reply slow: Redis took its entries, counting a delivery each) is let go with its
    // delivery given back, as runs queued at the deadline are (giveBackQueued): let go with its
    // count kept, it was dead-lettered as poison at maxDeliveries without having run.
    if (this.pastDeadline) {
      await giveBackUnstarted(lane.ctx, deliveries);
      for (const d of deliveries) {
        lane.ctx.inFlight.delete(d.message.entryId);
        d.slot.release();
      }
      return [];
    }
    for (const d of deliveries) this.laneOf.set(d, lane);
    return deliveries;
  }

  /**
   * Sweeps every partition in turn, first recording the limits Redis lost (noteLimitsLost). Not
   * while paused, read once its turn came (see inTurn): a pause that lands while it waits behind a
   * retake would otherwise see a dead worker's entries reclaimed, a delivery counted against each.
   */
  private async sweep(): Promise<Delivery[]> {
    if (this.pause.isPaused) return [];
    await this.noteLimitsLost();
    if (this.limitsUnrecorded.size > 0) await this.recordLimits([...this.limitsUnrecorded], false);
    return this.takeInEachLane('sweep', (lane) => lane.sweeper.sweep());
  }

  /**
   * What `take` hands over in each partition in turn, admitted. What one partition took is
   * admitted even when another's take fails: an error here would drop those deliveries, held in
   * memory, for good. Fails only when every take failed and none took anything.
   */
  private async takeInEachLane(what: string, take: (lane: Lane) => Promise<Handover>): Promise<Delivery[]> {
    const taken: Delivery[] = [];
    let failure: unknown;
    for (const lane of this.lanes) {
      try {
        taken.push(...(await this.admitTo(lane, await take(lane))));
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined && taken.length === 0) throw failure;
    if (failure !== undefined) {
      this.ctx.logger.warn(`Queue "${this.ctx.queue}" ${what} failed on a partition (${(failure as Error).message}).`);
    }
    return taken;
  }

  /**
   * Runs sweeps and retakes one after the other, never beside each other: what a sweep's recovery
   * took is in flight here only once the whole sweep is done (its lock, reclaim, stranded cancels),
   * and a retake of the same entry meanwhile (no idle filter) took it back again, counting a
   * second delivery for one run towards maxDeliveries. Each reads the pause once its turn came.
   */
  private inTurn<T>(take: () => Promise<T>): Promise<T> {
    const turn = this.taking.then(take);
    this.taking = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Takes back each partition's runs given back unproven, now that a beat proved the lease (see
   * UnprovenRetakes), as sweep() admits what its recovery took. Not while stopping (nothing is
   * taken then) nor paused (they stay remembered for a beat after the resume, or the recovery).
   */
  private async retake(): Promise<Delivery[]> {
    if (this.stopping || this.pause.isPaused) return [];
    return this.takeInEachLane('retake', (lane) => lane.retakes.take());
  }

  /**
   * Resolves once every settle sent was answered (or failed), their events emitted: after stop(),
   * for those it gave up waiting for (see ConsumerHost.publishLastEvents).
   */
  async settlesAnswered(): Promise<void> {
    await Promise.allSettled(this.settling);
  }

  /** settle(), noted in `settling` until Redis answered it (or it failed). */
  private settleTracked(outcomes: Outcome[]): Promise<Outcome[]> {
    const settled = this.settle(outcomes);
    const tracked = settled.catch(() => undefined).finally(() => this.settling.delete(tracked));
    this.settling.add(tracked);
    return settled;
  }

  /**
   * Settles the outcomes (see settleByLane), and notes since when each run handed back has
   * failed: a run Redis answered for (settled, refused, superseded) is done with, and a run that
   * keeps failing keeps its streak, whatever the other runs do.
   */
  private async settle(outcomes: Outcome[]): Promise<Outcome[]> {
    const left = await this.settleByLane(outcomes);
    // Almost always every run settled and none had failed before: nothing to note (a hot path).
    if (this.unsettled.size > 0) {
      const retried = new Set(left);
      for (const o of outcomes) if (!retried.has(o)) this.unsettled.delete(o);
    }
    if (left.length === 0) return left;
    const now = monotonicMs();
    for (const o of left) {
      const lane = this.laneOf.get(o.delivery) ?? this.lanes[0];
      const message = lane.settler.lastFailure ?? 'unknown error';
      this.unsettled.set(o, { since: this.unsettled.get(o)?.since ?? now, message });
    }
    return left;
  }

  /** Settles each partition's outcomes with its own scripts; returns those to retry. */
  private async settleByLane(outcomes: Outcome[]): Promise<Outcome[]> {
    if (this.lanes.length === 1) return this.settleLane(this.lanes[0], outcomes);
    const byLane = new Map<Lane, Outcome[]>();
    for (const outcome of outcomes) {
      const lane = this.laneOf.get(outcome.delivery) ?? this.lanes[0];
      const group = byLane.get(lane);
      if (group) group.push(outcome);
      else byLane.set(lane, [outcome]);
    }
    const retries = await Promise.all([...byLane].map(([lane, group]) => this.settleLane(lane, group)));
    return retries.flat();
  }

  /**
   * Settles one partition's outcomes. Runs abandoned before their handler was called (held by
   * the pause or for a rate token when the consumer stops, or when the lease is lost) give their
   * deliveries back meanwhile, before this worker's liveness key goes at shutdown: whoever
   * takes them next then counts no try they never had (maxDeliveries), and a rated run's start
   * its claim counted goes back with it (giveBackUnstarted).
   */
  private async settleLane(lane: Lane, outcomes: Outcome[]): Promise<Outcome[]> {
    const unstarted = outcomes.flatMap((o) =>
      o.kind === 'abandoned' && !o.delivery.handlerCalled ? [o.delivery] : [],
    );
    if (unstarted.length === 0) return lane.settler.settle(outcomes);
    const [left] = await Promise.all([lane.settler.settle(outcomes), giveBackUnstarted(lane.ctx, unstarted)]);
    return left;
  }

  private release(delivery: Delivery): void {
    (this.laneOf.get(delivery) ?? this.lanes[0]).ctx.inFlight.delete(delivery.message.entryId);
    delivery.slot.settled();
  }
}

/** A streak of failures: how long it has lasted, and why the last one failed. */
type Streak = { forMs: number; message: string };

function longestStreak(streaks: (Streak | undefined)[]): Streak | undefined {
  let longest: Streak | undefined;
  for (const streak of streaks) if (streak && (!longest || streak.forMs > longest.forMs)) longest = streak;
  return longest;
}

/** After the shutdown deadline, how long the aborted runs get to return and settle. */
const AFTER_DEADLINE_MS = 1_000;

/**
 * How long a rate-limited run may wait for its handler after the claim that counted its start
 * answered. A run counted at its claim but started later (queued behind a busy handler: a sweep's
 * claims beside a blocked read may exceed the concurrency by one read) would start next to runs
 * counted after it, closer together than its window allows. Timed from the answer, so a distant
 * Redis's round trip does not count.
 */
const STALE_CLAIM_MS = 20;

/**
 * A rate-limited run whose counted start is older than STALE_CLAIM_MS: it is claimed again, as a
 * run held by a pause is, and its start record moves to now (no token of its own while the
 * record is still in its window).
 */
function claimWentStale(delivery: Delivery): boolean {
  const countedAt = delivery.startCountedAt;
  if (countedAt === undefined || monotonicMs() - countedAt <= STALE_CLAIM_MS) return false;
  delivery.rateWaitMs ??= 0;
  return true;
}

/** A rate-limited run not yet given its token, and not aborted (an abort ends the wait unstarted). */
function waitsForToken(delivery: Delivery): boolean {
  return delivery.rateWaitMs !== undefined && !delivery.isAborted;
}
