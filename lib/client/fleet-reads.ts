import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { InvalidOptionError, TaskNotFoundError } from '../errors';
import type {
  DeadLetterBound,
  FoundTask,
  ListedState,
  ListedTask,
  PageOptions,
  QueueConsumerInfo,
  QueueCounts,
  QueueState,
  RedriveAllResult,
  TaskPage,
} from '../interfaces';
import { QueueKeys } from '../redis/keys';
import { DEFAULT_QUEUE } from '../stream-queue.constants';
import { checkName } from '../task/resolved-task-options';
import { MAX_ID_LENGTH } from '../task/task-message';
import { checkBound, checkDeadLetterId, DeadLetters, type RedriveAllProgress } from './dead-letters';
import { fleetEvents, type FleetEvent, type SubscriberConnections } from './fleet-events';
import { checkState } from './page-options';
import { checkPartitionPage, partitionCursor } from './partition-cursor';
import { QueueInspector } from './queue-inspector';
import { isPendingMarker } from './settled-state';
import { locate, removeTask } from './task-removal';

/**
 * @internal A queue's partitions' keys, partition p at index p: those Redis records, at least
 * (storedPartitions; one GET per read).
 */
export type PartitionsOf = (queue: string) => readonly QueueKeys[] | Promise<readonly QueueKeys[]>;

/**
 * @internal The fleet-wide reads and repairs behind QueueClient (and the CLI, which has no Nest
 * app), over every partition of a queue: each read costs a bounded number of commands per
 * partition. Every argument is validated before Redis is touched, so a bad call writes nothing.
 */
export class FleetReads {
  private readonly inspector: QueueInspector;
  private readonly deadLetters: DeadLetters;

  constructor(
    private readonly redis: Redis,
    private readonly partitionsOf: PartitionsOf,
    private readonly stateTtlMs: number,
    /** Names partition 0's keys for events() without a read; without it, events() reads partitionsOf first. */
    private readonly prefix?: string,
    /** Where events() opens its subscribers (RedisConnections); without it, events() errors. */
    private readonly subscribers?: SubscriberConnections,
  ) {
    this.inspector = new QueueInspector(redis);
    this.deadLetters = new DeadLetters(redis, this.inspector, stateTtlMs);
  }

  /** One queue-state script call per partition, in parallel, summed. */
  async counts(queue?: string): Promise<QueueCounts> {
    const all = await this.partitions(queue);
    return sumCounts(await Promise.all(all.map((keys) => this.inspector.counts(keys))));
  }

  /**
   * The counts, and each consumer once with what it holds in every partition; a partition whose
   * group has more than CONSUMER_LIST_LIMIT lists none (counted in `unlistedConsumers`).
   */
  async state(queue?: string): Promise<QueueState> {
    const all = await this.partitions(queue);
    const states = await Promise.all(all.map((keys) => this.inspector.state(keys)));
    return {
      ...sumCounts(states),
      consumers: mergeConsumers(states.flatMap((s) => s.consumers)),
      unlistedConsumers: states.reduce((total, s) => total + s.unlistedConsumers, 0),
    };
  }

  /**
   * A page of one listing, partition after partition: the cursor names where it stopped (see
   * partition-cursor.ts), so pages skip no task and repeat none (but a queued task listed in the
   * waiting room and admitted since, see QueueInspector.queued); one page's reads (a bounded
   * few commands, see QueueInspector) per partition it reaches.
   */
  async list(state: ListedState, options: PageOptions = {}): Promise<TaskPage> {
    checkState(state);
    const all = await this.partitions(objectOf(options).queue);
    const start = checkPartitionPage(state, options, all.length);
    const limit = start.page.limit;
    const tasks: ListedTask[] = [];
    let { partition, page } = start;
    for (;;) {
      const got = await this.inspector[state](all[partition], page);
      for (const task of got.tasks) tasks.push({ ...task, partition });
      if (got.cursor) return { tasks, cursor: partitionCursor(all.length, partition, got.cursor) };
      if (++partition >= all.length) return { tasks, cursor: null };
      if (tasks.length >= limit) return { tasks, cursor: partitionCursor(all.length, partition, '') };
      page = { limit: limit - tasks.length };
    }
  }

  /** Removes a queued or delayed task by id, from whichever partition holds it. */
  async remove(id: string, options: { queue?: string } = {}): Promise<void> {
    checkTaskId(id);
    const all = await this.partitions(objectOf(options).queue);
    for (const [p, keys] of all.entries()) {
      try {
        return await removeTask(this.redis, this.inspector, keys, id, this.stateTtlMs);
      } catch (error) {
        // Not in this partition: the next may hold it (TaskRunningError ends the search).
        if (!(error instanceof TaskNotFoundError) || p === all.length - 1) throw error;
      }
    }
  }

  /**
   * A task by id wherever it is (queued, delayed, running, dead-lettered; any partition), with
   * its stored result (JSON text) when one is kept. Found as remove() finds it (locate: a flow
   * task by its record, else the listings page by page): an operator's lookup. The pending
   * marker of a retry, redrive or move into admission is no result: `pending`, result null
   * (pending only with the task found, and not dead-lettered).
   */
  async findTask(id: string, options: { queue?: string; partition?: number } = {}): Promise<FoundTask> {
    checkTaskId(id);
    const all = await this.partitions(objectOf(options).queue);
    // `partition` (listed with each task) reads only that one: ids may coincide across partitions.
    const only = options.partition === undefined ? undefined : checkPartition(options.partition, all.length);
    const searched = [...all.entries()].filter(([partition]) => only === undefined || partition === only);
    let task: ListedTask | undefined;
    for (const [partition, keys] of searched) {
      const found = await locate(this.redis, this.inspector, keys, id, ['delayed', 'queued', 'running', 'dead']);
      if (found) {
        task = { ...found, partition };
        break;
      }
    }
    // Read after the search, so it is no older than the task found.
    const results = await Promise.all(searched.map(([, keys]) => this.redis.get(keys.result(id))));
    const result = results.find((r) => r !== null) ?? null;
    if (!isPendingMarker(result)) return { task, result };
    // A marker whose task no listing holds is no run to come: a keyed redriven run cancelled or
    // replaced since (neither knows the task's result key to clear it), which it outlives by a day.
    // Nor is one whose task is dead-lettered: a redrive takes its dead letter out, so this one is
    // that run's end, stale (cancelled or replaced while it ran), which stores nothing over it.
    return task && task.state !== 'dead' ? { task, result: null, pending: true } : { task, result: null };
  }

  /**
   * Redrives one dead letter within its own partition (where its key's state lives). Entry ids
   * of different partitions may coincide: then `partition` (listed with each dead letter) says which.
   */
  async redrive(deadLetterId: string, options: { queue?: string; partition?: number } = {}): Promise<string> {
    checkDeadLetterId(deadLetterId);
    const all = await this.partitions(objectOf(options).queue);
    if (options.partition !== undefined)
      return this.deadLetters.redrive(all[checkPartition(options.partition, all.length)], deadLetterId, all.length);
    if (all.length === 1) return this.deadLetters.redrive(all[0], deadLetterId, 1);
    const holders = await this.holdersOf(all, deadLetterId);
    if (holders.length > 1) throw ambiguous(deadLetterId, holders);
    return this.deadLetters.redrive(holders[0] ?? all[0], deadLetterId, all.length);
  }

  /**
   * Redrives every dead letter of every partition that can be; `done` as DeadLetters.redriveAll.
   * With `upTo` (a DeadLetterBound's), only those up to it.
   */
  async redriveAll(
    options: { queue?: string; upTo?: readonly (string | null)[] } = {},
    done?: RedriveAllProgress,
  ): Promise<RedriveAllResult> {
    const { queue, upTo } = objectOf(options);
    const all = await this.partitions(queue);
    return this.deadLetters.redriveAll(all, done, upTo === undefined ? undefined : checkBound(upTo, all.length));
  }

  /**
   * The queue's dead letters now, counted, with each partition's newest: what an operator is
   * asked about (the CLI's question, the dashboard's), and the `upTo` of a purge or redrive of
   * them all, which then leaves one dead-lettered since. One MULTI (XLEN, XREVRANGE) per partition.
   */
  async deadLetterBound(queue?: string): Promise<DeadLetterBound> {
    return this.deadLetters.present(await this.partitions(queue));
  }

  /**
   * Purges the given dead letters, or all (up to `upTo` when given), in every partition, or only
   * in `partition`. An id that two partitions hold is refused without `partition` (nothing is
   * purged): which one is meant? Without `partition`, each id is purged only where it was found.
   */
  async purge(
    options: { queue?: string; ids?: readonly string[]; partition?: number; upTo?: readonly (string | null)[] } = {},
  ): Promise<number> {
    const { queue, ids, partition, upTo } = objectOf(options);
    if (upTo !== undefined && (ids !== undefined || partition !== undefined))
      throw new InvalidOptionError('upTo', 'no ids nor partition with it (it bounds a purge of all)', upTo);
    const all = await this.partitions(queue);
    if (upTo !== undefined) return this.deadLetters.purgeUpTo(all, checkBound(upTo, all.length));
    if (partition !== undefined) return this.deadLetters.purge([all[checkPartition(partition, all.length)]], ids);
    if (all.length > 1 && Array.isArray(ids) && ids.length > 0) {
      const checked = Array.from(ids, (id: unknown, i) => checkDeadLetterId(id, `ids[${i}]`));
      const held = await Promise.all(checked.map((id) => this.holdersOf(all, id)));
      const shared = held.findIndex((holders) => holders.length > 1);
      if (shared >= 0) throw ambiguous(checked[shared], held[shared]);
      // Each id goes only to the partition where it was found: another partition may dead-letter
      // under the same id after this look-up (ids are per stream), and that is another dead letter.
      return this.deadLetters.purgeEach(
        all.map((keys) => ({ keys, ids: checked.filter((_, i) => held[i][0] === keys) })),
        checked,
      );
    }
    return this.deadLetters.purge(all, ids);
  }

  /** The partitions that hold dead letter `deadLetterId`: one read per partition, in parallel. */
  private async holdersOf(all: readonly QueueKeys[], deadLetterId: string): Promise<QueueKeys[]> {
    const found = await Promise.all(all.map((keys) => this.inspector.deadLetter(keys, deadLetterId)));
    return all.filter((_, p) => found[p]);
  }

  /**
   * The fleet's events of the queue. Workers publish every partition's events on partition 0's
   * channel, and watch its key (FleetEventRelay works per queue): one subscription sees them all.
   */
  events(queue?: string): Observable<FleetEvent> {
    const name = queueName(queue);
    const subscribers = this.subscribers;
    if (!subscribers) throw new Error('events() needs the connections of a StreamQueueModule');
    // Partition 0's channels, which exist under every count: named from the prefix, not read
    // (storedPartitions' GET failed a subscription made while Redis was away, where it must
    // subscribe once Redis is back).
    if (this.prefix !== undefined) return fleetEvents(this.redis, subscribers, new QueueKeys(this.prefix, name));
    return new Observable<FleetEvent>((subscriber) => {
      let inner: { unsubscribe(): void } | undefined;
      let closed = false;
      Promise.resolve(this.partitionsOf(name)).then(
        (all) => {
          if (!closed) inner = fleetEvents(this.redis, subscribers, all[0]).subscribe(subscriber);
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        closed = true;
        inner?.unsubscribe();
      };
    });
  }

  private async partitions(queue: string | undefined): Promise<readonly QueueKeys[]> {
    return this.partitionsOf(queueName(queue));
  }
}

function queueName(queue: string | undefined): string {
  return queue === undefined ? DEFAULT_QUEUE : checkName('queue', queue);
}

function checkTaskId(id: unknown): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)
    throw new InvalidOptionError('id', `a task id (1 to ${MAX_ID_LENGTH} characters)`, id);
}

function checkPartition(partition: unknown, count: number): number {
  if (!Number.isInteger(partition) || (partition as number) < 0 || (partition as number) >= count)
    throw new InvalidOptionError('partition', `an integer from 0 to ${count - 1}`, partition);
  return partition as number;
}

/** Two partitions hold the dead-letter id: the caller must name one (listings carry it). */
function ambiguous(deadLetterId: string, holders: readonly QueueKeys[]): InvalidOptionError {
  const which = holders.map((k) => k.partition).join(', ');
  return new InvalidOptionError('partition', `one of ${which}: dead letter "${deadLetterId}" is in each`, undefined);
}

/** Partitions' counts as the queue's: sums; the oldest wait, the soonest due; exact only if all are. */
function sumCounts(parts: readonly QueueCounts[]): QueueCounts {
  const nonNull = (values: (number | null)[]) => values.filter((v): v is number => v !== null);
  const oldest = nonNull(parts.map((c) => c.oldestWaitingMs));
  const due = nonNull(parts.map((c) => c.nextDueInMs));
  const sum = (pick: (c: QueueCounts) => number) => parts.reduce((total, c) => total + pick(c), 0);
  return {
    queue: parts[0].queue,
    waiting: sum((c) => c.waiting),
    waitingForSlot: sum((c) => c.waitingForSlot),
    waitingExact: parts.every((c) => c.waitingExact),
    delayed: sum((c) => c.delayed),
    running: sum((c) => c.running),
    deadLettered: sum((c) => c.deadLettered),
    oldestWaitingMs: oldest.length > 0 ? Math.max(...oldest) : null,
    nextDueInMs: due.length > 0 ? Math.min(...due) : null,
    added: sum((c) => c.added),
    read: parts.some((c) => c.read === null) ? null : sum((c) => c.read!),
  };
}

/** A consumer of several partitions' groups, once: what it holds summed, its latest activity, its liveness. */
function mergeConsumers(rows: readonly QueueConsumerInfo[]): QueueConsumerInfo[] {
  const byName = new Map<string, QueueConsumerInfo>();
  for (const row of rows) {
    const seen = byName.get(row.name);
    byName.set(
      row.name,
      seen
        ? {
            name: row.name,
            pending: seen.pending + row.pending,
            idleMs: Math.min(seen.idleMs, row.idleMs),
            alive: seen.alive || row.alive,
            leaseLeftMs: Math.max(seen.leaseLeftMs, row.leaseLeftMs),
          }
        : row,
    );
  }
  return [...byName.values()];
}

function objectOf<T extends object>(options: T): T {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  return options;
}
