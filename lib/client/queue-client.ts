import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Observable } from 'rxjs';
import {
  EnqueueManyError,
  InvalidOptionError,
  KeyConflictError,
  PartitionLayoutError,
  type EnqueueManyResult,
} from '../errors';
import type {
  DeadLetterBound,
  DurabilityOptions,
  EnqueueItem,
  EnqueueOptions,
  FoundTask,
  ListedState,
  PageOptions,
  QueueCounts,
  QueueState,
  RedriveAllResult,
  ReplaceOptions,
  ScheduleOptions,
  SchedulePage,
  SchedulesOptions,
  TaskPage,
  TaskStatus,
} from '../interfaces';
import { parseEntryId } from '../redis/entry-id';
import type { QueueKeys } from '../redis/keys';
import { PartitionLayouts } from '../partitions/partition-layout';
import { LostLayouts } from '../partitions/lost-layouts';
import { retryUnderStoredCount } from '../partitions/stored-count-retry';
import { RedisConnections } from '../redis/redis-connections';
import { MAX_PARTITIONS, type StreamQueueConfig } from '../stream-queue.config';
import { DEFAULT_QUEUE, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { StreamQueueInstrumentation } from '../stream-queue.instrumentation';
import { checkName } from '../task/resolved-task-options';
import { firstFires } from '../task/periodic-call';
import { TaskRegistry } from '../task/task.registry';
import { schedulePeriodicScript } from '../scripts/schedule-periodic.script';
import { scheduleRuntimeScript } from '../scripts/schedule-runtime.script';
import { endChainLeftElsewhere } from './chain-left-elsewhere';
import { ClosedGuard } from './closed-guard';
import { FleetReads } from './fleet-reads';
import type { FleetEvent } from './fleet-events';
import type { EnqueueCall, EnqueueReply } from './enqueue-call';
import { checkKey, ENQUEUE_OPTION_NAMES, itemRefusal, queueOption, toEnqueueCall } from './enqueue-input';
import { looked, MAX_ARRAY_LENGTH, readOption, snapshotOptions } from '../options-snapshot';
import { sendEnqueue } from './enqueue-script';
import { checkDurability, enqueueDurably, enqueueDurablyByCall } from './durable-enqueue';
import { sendEnqueueMany, type EnqueueOutcome } from './enqueue-many';
import { sendCancel } from './send-cancel';
import { PlainEnqueueBatcher } from './plain-enqueue-batcher';
import { ResultWaiter } from './result-waiter';
import { readPauseRecords, newestRecord, writePause } from './queue-pause';
import { readSchedules } from './schedule-list';
import { toScheduleCall, toSchedulesPage } from './schedule-input';
import { storedPartitions } from '../partitions/stored-partitions';
import { newTaskId, partitionOfTaskId } from '../partitions/task-ids';
import { TaskHandle } from './task-handle';
import { readKeyedTaskStatus, readMappedKeyStatus, readUnkeyedStatus } from './task-status';

/**
 * Enqueues tasks, schedules them, and reads their state. Every call validates its arguments
 * before anything is written: a bad call throws a typed error (`UnknownTaskError`,
 * `PayloadError`, `InvalidOptionError`) and writes nothing. After the application closed, every
 * call rejects with `ApplicationClosedError`, sending nothing (see ClosedGuard).
 * @publicApi
 */
@Injectable()
export class QueueClient {
  private readonly logger = new Logger('StreamQueue');
  private readonly plainEnqueues: PlainEnqueueBatcher;
  private readonly fleet: FleetReads;
  private readonly guard: ClosedGuard;

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly waiter: ResultWaiter,
    private readonly layouts: PartitionLayouts,
    private readonly instrumentation: StreamQueueInstrumentation,
    private readonly lostLayouts: LostLayouts,
  ) {
    this.guard = new ClosedGuard(connections);
    this.plainEnqueues = new PlainEnqueueBatcher(connections.commands, (held) => connections.boundHeldCalls(held));
    // Every partition Redis records, and this process's: see storedPartitions.
    this.fleet = new FleetReads(
      connections.commands,
      (queue) => storedPartitions(connections.commands, config.prefix, queue, layouts.partitionsOf(queue).count),
      config.resultTtlMs,
      config.prefix,
      connections,
    );
  }

  // Fleet-wide reads and repairs (lib/client/fleet-reads.ts): what Redis holds, for every worker.
  /** The queue's counts: its layout record, then one script call per partition; cheap enough for every metrics scrape. */
  counts = (queue?: string): Promise<QueueCounts> => this.guard.run('counts()', () => this.fleet.counts(queue));
  /** The queue's counts plus its consumers and their liveness. */
  inspect = (queue?: string): Promise<QueueState> => this.guard.run('inspect()', () => this.fleet.state(queue));
  /** A page of queued, delayed, running tasks or dead letters; pass the returned cursor for the next. */
  list = (state: ListedState, options?: PageOptions): Promise<TaskPage> =>
    this.guard.run('list()', () => this.fleet.list(state, readOnce(options, ['limit', 'cursor', 'queue'])));
  /**
   * A task by id wherever it is (only in `partition` when given), with its stored result (JSON
   * text) if any; `pending` (and no result) while a retry, redrive or move into admission waits.
   */
  findTask = (id: string, options?: { queue?: string; partition?: number }): Promise<FoundTask> =>
    this.guard.run('findTask()', () => this.fleet.findTask(id, readOnce(options, ['queue', 'partition'])));
  /** Removes a queued or delayed task by id (never a running one: TaskRunningError). */
  remove = (id: string, options?: { queue?: string }): Promise<void> =>
    this.guard.run('remove()', () => this.fleet.remove(id, readOnce(options, ['queue'])));
  /**
   * Puts a dead letter's task back in its partition's stream: same id and key, attempt 1. Returns
   * its entry id ('' when a task under flow control waits for a slot: a redrive goes through
   * admission, like an enqueue, with the task's group and priority). `partition` (listed with each dead letter) is needed only when two partitions
   * hold the same dead-letter id.
   */
  redrive = (deadLetterId: string, options?: { queue?: string; partition?: number }): Promise<string> =>
    this.guard.run('redrive()', () => this.fleet.redrive(deadLetterId, readOnce(options, ['queue', 'partition'])));
  /**
   * The queue's dead letters now: how many, and each partition's newest. Its `upTo` given to
   * redriveAll() or purgeDeadLetters() limits them to those (what an operator was asked about).
   */
  deadLetterBound = (queue?: string): Promise<DeadLetterBound> =>
    this.guard.run('deadLetterBound()', () => this.fleet.deadLetterBound(queue));
  /** Redrives every dead letter that can be (up to `upTo`, a DeadLetterBound's, when given). */
  redriveAll = (options?: { queue?: string; upTo?: DeadLetterBound['upTo'] }): Promise<RedriveAllResult> =>
    this.guard.run('redriveAll()', () => this.fleet.redriveAll(readOnce(options, ['queue', 'upTo'])));
  /**
   * Deletes the given dead letters, or all (up to `upTo`, a DeadLetterBound's, when given);
   * returns how many. `partition` limits it to one; it is needed when two partitions hold one of the ids.
   */
  purgeDeadLetters = (options?: {
    queue?: string;
    ids?: readonly string[];
    partition?: number;
    upTo?: DeadLetterBound['upTo'];
  }): Promise<number> =>
    this.guard.run('purgeDeadLetters()', () =>
      this.fleet.purge(readOnce(options, ['queue', 'ids', 'partition', 'upTo'])),
    );
  /**
   * The task events of every worker of the fleet on `queue`, through Redis; workers publish only
   * while watched. Completes when the application closes; subscribed after, errors with
   * ApplicationClosedError.
   */
  events = (queue?: string): Observable<FleetEvent> => this.guard.events('events()', this.fleet.events(queue));

  /** Adds a task; with `options.key`, returns the live run of that key instead of adding another. */
  async enqueue<P = unknown, R = unknown>(
    name: string,
    payload: P,
    options: EnqueueOptions = {},
  ): Promise<TaskHandle<R>> {
    const read = readOnce(options, ENQUEUE_OPTION_NAMES);
    return this.send<R>(this.call(name, payload, read, 'add'), this.durabilityOf(read));
  }

  /**
   * Adds many tasks in one round trip (a pipeline); all are validated before any is sent. When
   * Redis refuses some of them, throws `EnqueueManyError`, which says per item whether it was
   * written (its handle) or not (its error). No items resolves `[]`, sending nothing (after the
   * application closed, it rejects with `ApplicationClosedError` like any call).
   */
  async enqueueMany<R = unknown>(items: readonly EnqueueItem[]): Promise<TaskHandle<R>[]> {
    const calls = Array.from({ length: itemCount(items) }, (_, i) => {
      const { name, payload, options } = readItem(items, i);
      if (options?.durability !== undefined)
        throw new InvalidOptionError(
          `items[${i}].options.durability`,
          'none: enqueueMany() does not WAIT',
          options.durability,
        );
      try {
        return this.call(name, payload, options ?? {}, 'add');
      } catch (error) {
        throw itemRefusal(error, i);
      }
    });
    // Closed is checked before the empty shortcut: no items still throws, as every call does.
    this.guard.check('enqueueMany()');
    if (calls.length === 0) return [];
    // Items refused because Redis lost their queue's layout record are sent again once it is recorded.
    const sendAll = (sent: readonly EnqueueCall[]) =>
      this.lostLayouts.retryingEach(
        sent,
        (queue) => this.layouts.partitionsOf(queue).count,
        (batch) => sendEnqueueMany(this.connections.commands, batch),
        (outcome) => ('error' in outcome ? outcome.error : undefined),
        (error) => ({ error }),
      );
    // The handles are made inside the traced send: a call that throws ends its span in error.
    const send = async (sent: readonly EnqueueCall[]) => this.handlesOf<R>(calls, await sendAll(sent));
    const wrap = this.instrumentation.enqueue;
    return wrap ? wrap(calls, send, (handles) => handles.map((h) => h.id)) : send(calls);
  }

  /** The handles of an enqueueMany's outcomes, or EnqueueManyError when any item was not written. */
  private handlesOf<R>(calls: readonly EnqueueCall[], outcomes: readonly EnqueueOutcome[]): TaskHandle<R>[] {
    const results: EnqueueManyResult<R>[] = outcomes.map((outcome, i) => {
      if ('error' in outcome)
        return { error: PartitionLayoutError.fromReply(calls[i].queue, this.connections.explain(outcome.error)) };
      try {
        return { handle: this.toHandle<R>(calls[i], outcome.reply) };
      } catch (error) {
        return { error: error as Error }; // KeyConflictError: nothing was written for this item
      }
    });
    if (results.some((result) => 'error' in result)) throw new EnqueueManyError<R>(results);
    return results.map((result) => (result as { handle: TaskHandle<R> }).handle);
  }

  /**
   * Supersedes every older run of `options.key`: what is queued or delayed never starts, and a
   * running one has its `ctx.signal` aborted and, when it finishes, writes nothing. On a
   * periodic key (`periodicKey(name)`), `every` re-times the slots that follow. On a runtime
   * schedule's key, it runs the task once and ends the schedule.
   */
  async replace<P = unknown, R = unknown>(name: string, payload: P, options: ReplaceOptions): Promise<TaskHandle<R>> {
    const read = readOnce(options, ENQUEUE_OPTION_NAMES);
    if (read == null || typeof read.key !== 'string') {
      throw new InvalidOptionError('key', 'a non-empty string (replace() acts on a task key)', read?.key);
    }
    return this.send<R>(this.call(name, payload, read, 'replace'), this.durabilityOf(read));
  }

  /**
   * Cancels the live run of `key`: queued or delayed, it never starts; running, its signal
   * aborts. A periodic chain stops: a runtime schedule for good; a `@Task` schedule until a
   * worker boots (or `replace()` on its periodic key restarts it). A stale partition count of
   * this process for the queue is retried under the one Redis records (see cancelKey).
   * Resolves true when it cancelled something, false when nothing was live; a call that ioredis
   * resends after its reply was lost answers as it first did (see cancelKey).
   */
  async cancel(key: string, options: { queue?: string } = {}): Promise<boolean> {
    return this.guard.run('cancel()', () =>
      this.cancelKey(key, queueOption(readOnce(options, ['queue'])), false, { recorded: true }),
    );
  }

  /**
   * The state of the latest run of `key`, or null when the key has none (or it expired). It reads
   * the key's partition under the current count: after a change of the partition count, a run
   * from before it is seen through its handle (`handle.status()`), not here. A process still
   * running with the old count gets a PartitionLayoutError (it would read the key's old partition).
   */
  async status(key: string, options: { queue?: string } = {}): Promise<TaskStatus | null> {
    return this.guard.run('status()', async () => {
      checkKey(key);
      const queue = queueOption(readOnce(options, ['queue']));
      const partitions = this.layouts.partitionsOf(queue);
      return this.lostLayouts.retrying(queue, partitions.count, () =>
        readMappedKeyStatus(this.connections.commands, queue, partitions.forKey(key), partitions.count, key),
      );
    });
  }

  /**
   * A handle on a task enqueued elsewhere (another process, an earlier request), by id. Pass the
   * original handle's `toJSON()` as `options` (its name, queue, key, generation, partition,
   * stream entry id, or `waitsForSlot` for a task its enqueue left waiting for a flow slot):
   * without them, a task without a key whose handler returned nothing (no result is stored)
   * cannot be told settled, and result() waits for its timeout. The task
   * is read in the partition it was enqueued in, which its id records (`<uuid>~<p>` outside
   * partition 0), even after a change of the partition count (its result and state stay there);
   * `partition` overrides it. Without `generation`, the handle's generation is 0 (unknown).
   */
  handle<R = unknown>(
    id: string,
    options: {
      name?: string;
      queue?: string;
      key?: string;
      generation?: number;
      entryId?: string;
      waitsForSlot?: boolean;
      partition?: number;
    } = {},
  ): TaskHandle<R> {
    options = readOnce(options, ['name', 'queue', 'key', 'generation', 'entryId', 'waitsForSlot', 'partition']);
    if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('id', 'a task id string', id);
    const queue = queueOption(options);
    if (options.name !== undefined) checkName('name', options.name);
    if (options.key !== undefined) checkKey(options.key);
    const { entryId, generation = 0, waitsForSlot = false } = options;
    if (typeof waitsForSlot !== 'boolean') throw new InvalidOptionError('waitsForSlot', 'a boolean', waitsForSlot);
    if (!Number.isSafeInteger(generation) || generation < 0)
      throw new InvalidOptionError('generation', 'an integer >= 0', generation);
    if (entryId !== undefined && !parseEntryId(entryId))
      throw new InvalidOptionError('entryId', 'a stream entry id such as "1700000000000-0"', entryId);
    const partitions = this.layouts.partitionsOf(queue);
    const { partition } = options;
    // Any partition a count ever had: the handle may predate a change to fewer partitions.
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition >= MAX_PARTITIONS))
      throw new InvalidOptionError('partition', `an integer from 0 to ${MAX_PARTITIONS - 1}`, partition);
    // The id says where the task was written (see task-ids.ts), whatever the count is now.
    const keys = partitions.recorded(partition ?? partitionOfTaskId(id));
    return this.newHandle<R>(id, options.name, keys, options.key, generation, false, entryId, waitsForSlot);
  }

  /**
   * Runs `name` periodically under `options.key`, every `every` or on `cron` (in `timezone`),
   * from now on, until `unschedule(key)` or `cancel(key)`. The schedule lives in Redis: it needs
   * no code on the workers beyond the task's handler, and survives restarts. Scheduling a live
   * key again with the same task, payload and timing leaves it alone (concurrent calls make one
   * chain); with anything changed it re-times it: the waiting run is replaced by one on the new
   * schedule, and a running one is superseded (its signal aborts, its settle writes nothing).
   * A key held by a live run that is not a schedule's (one enqueued under it, or the one-off run
   * of a `replace()` that ended the schedule) throws KeyConflictError, writing nothing.
   * Returns the handle of the chain's waiting run. Once it is in place, the key's chain of the
   * same task left on another queue is ended; when that cannot be done, a warning says so and
   * the handle is still returned (see the README, "Runtime schedules").
   */
  async schedule<P = unknown, R = unknown>(name: string, payload: P, options: ScheduleOptions): Promise<TaskHandle<R>> {
    return this.guard.run('schedule()', () =>
      this.scheduleRun<R>(name, payload, readOnce(options, ['key', 'queue', 'every', 'cron', 'timezone'])),
    );
  }

  private async scheduleRun<R>(name: string, payload: unknown, options: ScheduleOptions): Promise<TaskHandle<R>> {
    const call = toScheduleCall(this.registry, this.config.maxPayloadBytes, name, payload, options);
    const redis = this.connections.commands;
    const fires = await firstFires(redis, call.schedule, call.key);
    const partitions = this.layouts.partitionsOf(call.queue);
    const keys = partitions.forKey(call.key);
    const reply = await this.lostLayouts
      .retrying(call.queue, partitions.count, () =>
        scheduleRuntimeScript(keys, { ...call, fires, partitions: partitions.count }).run(redis),
      )
      .catch((error: Error) => {
        throw PartitionLayoutError.fromReply(call.queue, error);
      });
    if (reply.outcome === 'held') throw new KeyConflictError(call.key, name, reply.name, reply.id);
    // A key names one schedule of its task: a chain of it left on another queue (the task moved
    // there since it was scheduled) would run every slot a second time. It ends only once the new
    // chain is in place (a refused schedule() keeps it); the two queues are two slots, so this is
    // a second step, which never fails the schedule() (see endChainLeftElsewhere): one that could
    // not run is logged, and a schedule() called again runs it again.
    for (const other of this.knownQueues()) {
      if (other === call.queue) continue;
      const chain = { key: call.key, task: name, scheduledOn: call.queue, queue: other };
      await endChainLeftElsewhere(chain, () => this.cancelKey(call.key, other, true, { task: name }), this.logger);
    }
    return this.newHandle<R>(reply.id, name, keys, call.key, reply.generation, reply.outcome !== 'left-alone');
  }

  /**
   * Ends the runtime schedule of `key`: its waiting run is removed, a running one is cancelled.
   * Returns false when `key` is not a runtime schedule (nothing is touched). Without
   * `options.queue` it looks on `default` and on every queue a task of this process runs on:
   * schedule() puts a key on its task's queue, and looking on `default` alone missed it there.
   * A stale partition count of this process is retried under the one Redis records (see
   * cancelKey). Every queue is tried before the first failure that remains is thrown.
   */
  async unschedule(key: string, options: { queue?: string } = {}): Promise<boolean> {
    return this.guard.run('unschedule()', async () => {
      const read = readOnce(options, ['queue']);
      const queue = queueOption(read);
      const queues = read.queue !== undefined ? [queue] : this.knownQueues();
      // Every queue is tried before a failure is thrown: one that could not be written (a change
      // of its count under way, Redis refusing) must not leave the key's schedule on a later one
      // untouched. It is thrown even when a schedule was ended elsewhere: a key may have one on
      // two queues (another task's, a chain schedule() could not end), so `true` would say it is
      // gone while one may run on where this call could not look.
      let ended = false;
      let failure: unknown;
      for (const q of queues) {
        try {
          ended = (await this.cancelKey(key, q, true, { recorded: true })) || ended;
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
      return ended;
    });
  }

  /** `default` and every queue a task of this process runs on. */
  private knownQueues(): string[] {
    return [...new Set([DEFAULT_QUEUE, ...this.registry.queues()])];
  }

  /**
   * cancel.lua on the key's partition. Refused (nothing changed) for a stale count of this
   * process, it is retried under the count Redis records (retryUnderStoredCount): cancel.lua
   * checks that count as it writes, so the answer is about the partition holding the key's run,
   * and ending a run adds no work a rollout expects a stale process to fail on. Without the
   * retry, a process whose count is stale for a queue (`default`, looked at by every schedule()
   * and unschedule()) could end nothing there, and the run the caller meant to stop went on.
   * `recorded`: the call's answer is kept in Redis under an id drawn here (cancel.lua, KEYS[8]),
   * so that ioredis resending it after a lost reply gets the first execution's answer and
   * cancels nothing enqueued since. schedule()'s cleanup keeps none: it ignores the answer, and
   * a record per schedule() call and other queue would add up for an app calling it often.
   */
  private async cancelKey(
    key: string,
    queue: string,
    scheduleOnly: boolean,
    { task, recorded = false }: { task?: string; recorded?: boolean },
  ): Promise<boolean> {
    checkKey(key);
    const redis = this.connections.commands;
    const callId = recorded ? randomUUID() : undefined;
    const reply = await retryUnderStoredCount(redis, this.layouts.partitionsOf(queue), (partitions) =>
      this.lostLayouts
        .retrying(queue, partitions.count, () =>
          sendCancel(redis, partitions.forKey(key), {
            key,
            stateTtlMs: this.config.resultTtlMs,
            partitions: partitions.count,
            scheduleOnly,
            task,
            callId,
          }),
        )
        .catch((error: Error) => {
          throw PartitionLayoutError.fromReply(queue, error);
        }),
    );
    return reply === 'cancelled';
  }

  /**
   * Pauses `queue` for the whole fleet: every worker stops reading it and starts no run of it
   * within one heartbeat interval (at once when its Redis notice arrives); runs in flight finish
   * and settle. Tasks keep being enqueued, promoted and scheduled; they wait. Resolves once every
   * partition records the pause (or a later call's state); rejects with PauseRefusedError when
   * some partition's record refuses it (see queue-pause.ts writePause).
   */
  async pause(queue: string): Promise<void> {
    await this.guard.run('pause()', () => this.writePause(queue, true));
  }

  /** Undoes pause(): workers read and start `queue`'s runs again within one heartbeat interval. */
  async resume(queue: string): Promise<void> {
    await this.guard.run('resume()', () => this.writePause(queue, false));
  }

  /** Whether `queue` is paused: the latest pause() or resume() of any process, read from Redis. */
  async isPaused(queue: string): Promise<boolean> {
    return this.guard.run(
      'isPaused()',
      async () => newestRecord(await readPauseRecords(this.connections.commands, this.everyPartition(queue))).paused,
    );
  }

  private writePause(queue: string, paused: boolean): Promise<void> {
    return writePause(this.connections.commands, this.everyPartition(queue), paused);
  }

  /** Every partition of `queue` (a pause is recorded in each; see queue-pause.ts). */
  private everyPartition(queue: string): readonly QueueKeys[] {
    return this.layouts.partitionsOf(checkName('queue', queue)).all;
  }

  /** One page of a queue's runtime schedules, in key order; pass `next` as `after` for the next. */
  async schedules<P = unknown>(options: SchedulesOptions = {}): Promise<SchedulePage<P>> {
    return this.guard.run('schedules()', async () => {
      const { queue, after, limit } = toSchedulesPage(readOnce(options, ['queue', 'after', 'limit']));
      const redis = this.connections.commands;
      // Every partition Redis records, as the fleet reads: a stale count would miss schedules.
      const keys = await storedPartitions(redis, this.config.prefix, queue, this.layouts.partitionsOf(queue).count);
      return readSchedules(redis, keys, after, limit) as Promise<SchedulePage<P>>;
    });
  }

  private async send<R>(call: EnqueueCall, durability?: DurabilityOptions): Promise<TaskHandle<R>> {
    this.guard.check(call.mode === 'replace' ? 'replace()' : 'enqueue()');
    const wrap = this.instrumentation.enqueue;
    // Refused because Redis lost the queue's layout record: recorded again, then sent once more.
    const sendOne = (sent: EnqueueCall) =>
      this.lostLayouts.retrying(sent.queue, this.layouts.partitionsOf(sent.queue).count, () =>
        this.sendOne<R>(sent, durability),
      );
    try {
      if (!wrap) return await sendOne(call);
      return await wrap(
        [call],
        ([traced]) => sendOne(traced),
        (handle) => [handle.id],
      );
    } catch (error) {
      throw PartitionLayoutError.fromReply(call.queue, this.connections.explain(error as Error));
    }
  }

  private async sendOne<R>(call: EnqueueCall, durability?: DurabilityOptions): Promise<TaskHandle<R>> {
    if (call.periodic && call.mode === 'replace') return this.replacePeriodic<R>(call, durability);
    if (durability) {
      const reply = await enqueueDurablyByCall(this.connections.commands, call, durability);
      return this.toHandle<R>(call, reply);
    }
    // A task without a key, due now, needs no dedupe, supersession or timing: it goes by group
    // commit, as a plain XADD or with others in one enqueue-many call (see PlainEnqueueBatcher),
    // which also checks the layout of partitions other than 0 for delayed ones. Not a task under
    // flow control: admission decides when it enters the stream.
    const plain = call.key === undefined && ((call.delayMs === 0 && call.runAt === 0) || call.keys.partition > 0);
    if (plain && !call.flow) {
      const id = newTaskId(call.keys.partition);
      const entryId = await this.plainEnqueues.add(call.keys, call, id);
      return this.toHandle<R>(call, { outcome: 'created', id, generation: 0, entryId });
    }
    return this.toHandle<R>(call, await sendEnqueue(call, (script) => script.run(this.connections.commands)));
  }

  /**
   * A periodic key's replace keeps the stored schedule unless `every` re-times it. With
   * `durability`, WAIT follows it as it follows every other enqueue (it used to be skipped here).
   */
  private async replacePeriodic<R>(call: EnqueueCall, durability?: DurabilityOptions): Promise<TaskHandle<R>> {
    const { name, queue, payload, runAt, delayMs, everyMs } = call; // a periodic chain carries no trace
    const schedule = everyMs > 0 ? { every: everyMs } : undefined;
    const script = schedulePeriodicScript(call.keys, {
      mode: 'replace',
      name,
      queue,
      payload,
      schedule,
      runAt,
      delayMs,
    });
    const redis = this.connections.commands;
    const { id, generation } = await (durability ? enqueueDurably(redis, script, durability) : script.run(redis));
    return this.toHandle<R>(call, { outcome: 'created', id, generation });
  }

  private call(name: string, payload: unknown, options: ReplaceOptions | EnqueueOptions, mode: 'add' | 'replace') {
    const { maxPayloadBytes, priorityAgingMs } = this.config;
    return toEnqueueCall(this.registry, this.layouts, maxPayloadBytes, priorityAgingMs, name, payload, options, mode);
  }

  private toHandle<R>(call: EnqueueCall, reply: EnqueueReply): TaskHandle<R> {
    if (reply.outcome === 'conflict') throw new KeyConflictError(call.key!, call.name, reply.holder, reply.id);
    const entryId = reply.outcome === 'created' ? reply.entryId : undefined;
    return this.newHandle<R>(
      reply.id,
      call.name,
      call.keys,
      call.key,
      reply.generation,
      reply.outcome === 'created',
      entryId,
      reply.outcome === 'created' && reply.waitsForSlot === true,
    );
  }

  private newHandle<R>(
    id: string,
    name: string | undefined,
    keys: QueueKeys,
    key: string | undefined,
    generation: number,
    created: boolean,
    entryId?: string,
    waitsForSlot = false,
  ): TaskHandle<R> {
    const redis = this.connections.commands;
    const entry = entryId || undefined;
    const readStatus = () =>
      this.guard.run('status()', () =>
        key !== undefined
          ? readKeyedTaskStatus(redis, keys, key, id, generation)
          : readUnkeyedStatus(redis, keys, id, entry, waitsForSlot),
      );
    return new TaskHandle<R>(
      id,
      name,
      keys.queue,
      key,
      generation,
      created,
      keys,
      this.waiter,
      readStatus,
      entry,
      waitsForSlot,
    );
  }

  /** The enqueue's own `durability`, else the module's. */
  private durabilityOf(options: EnqueueOptions | undefined): DurabilityOptions | undefined {
    if (options == null || typeof options !== 'object') return this.config.durability;
    return checkDurability('durability', options.durability) ?? this.config.durability;
  }
}

/**
 * A call's options with each read once, here (snapshotOptions): a getter that throws is an
 * InvalidOptionError naming the option, and one answering differently on a second read cannot
 * pass the checks with one value and be written with another. `known`: the names a class
 * instance's prototype getters may hold.
 */
function readOnce<T>(options: T, known: readonly string[]): T {
  return snapshotOptions(options, '', known);
}

/** How many items enqueueMany() was given: `items` may be a Proxy, whose every look may throw. */
function itemCount(items: unknown): number {
  if (!looked('items', () => Array.isArray(items)))
    throw new InvalidOptionError('items', 'an array of { name, payload, options? }', items);
  const length = readOption(items as object, 'length', 'items.length');
  // An array's length, as Array.from takes it: a Proxy's may be anything.
  if (!Number.isSafeInteger(length) || (length as number) < 0 || (length as number) > MAX_ARRAY_LENGTH)
    throw new InvalidOptionError('items.length', 'the length of an array', length);
  return length as number;
}

/** enqueueMany()'s item `i`, each of its fields read once (its options through readOnce). */
function readItem(items: readonly EnqueueItem[], i: number): EnqueueItem {
  const item = readOption(items, String(i), `items[${i}]`) as EnqueueItem;
  if (item == null || typeof item !== 'object')
    throw new InvalidOptionError(`items[${i}]`, 'an object { name, payload, options? }', item);
  const options = readOption(item, 'options', `items[${i}].options`) as EnqueueItem['options'];
  return {
    name: readOption(item, 'name', `items[${i}].name`) as string,
    payload: readOption(item, 'payload', `items[${i}].payload`),
    options: snapshotOptions(options, `items[${i}].options.`, ENQUEUE_OPTION_NAMES),
  };
}
