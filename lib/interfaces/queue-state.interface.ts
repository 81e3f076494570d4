/** A consumer of a queue's group, with its liveness (its lease key). @publicApi */
export interface QueueConsumerInfo {
  readonly name: string;
  /** Messages it holds (running, or read and not settled). */
  readonly pending: number;
  /** Milliseconds since it last read or claimed. */
  readonly idleMs: number;
  /** Its liveness key exists: its runs are not reclaimed. */
  readonly alive: boolean;
  /** Milliseconds its liveness has left (0 when dead). */
  readonly leaseLeftMs: number;
}

/** A queue's counts as Redis holds them, read in one command (cheap enough for every scrape). @publicApi */
export interface QueueCounts {
  readonly queue: string;
  /**
   * Tasks waiting to run: in the stream, not read by a worker yet, plus the tasks under flow
   * control waiting in the waiting room for a concurrency slot (`waitingForSlot`).
   */
  readonly waiting: number;
  /** Of `waiting`, the tasks waiting for a concurrency slot (flow control), not yet in the stream. */
  readonly waitingForSlot: number;
  /** False when Redis could not count `waiting` exactly: it is then an upper bound. */
  readonly waitingExact: boolean;
  readonly delayed: number;
  /** Read by a worker and not settled yet (the group's pending list). */
  readonly running: number;
  readonly deadLettered: number;
  /**
   * Age in ms of the oldest waiting task, or null when none waits: of the tasks waiting in the
   * stream, since it entered the stream; of those waiting for a slot (`waitingForSlot`), since
   * it entered the waiting room; of the delayed tasks past their due time (not promoted yet, as
   * when no worker runs), since it fell due. The oldest of the three.
   */
  readonly oldestWaitingMs: number | null;
  /** Ms until the next delayed task is due (0: due now), or null when none is delayed. */
  readonly nextDueInMs: number | null;
  /** Entries ever added to the stream (enqueues, promotions, redrives): its rate is the inflow. */
  readonly added: number;
  /** Entries the group ever read, or null when Redis cannot say. */
  readonly read: number | null;
}

/** `QueueClient.inspect()`: counts plus the consumers with their liveness. @publicApi */
export interface QueueState extends QueueCounts {
  /**
   * The consumer group's consumers, each once. A partition whose group has more than 1000 lists
   * none of them (anyone who can write to Redis can create consumers, and reading them all would
   * make every inspect() as long as they are many): see `unlistedConsumers`.
   */
  readonly consumers: QueueConsumerInfo[];
  /** Consumers not listed, of the partitions whose group has more than 1000 (0: all listed). */
  readonly unlistedConsumers: number;
}

/**
 * What a listing lists: waiting, delayed, running tasks, or dead letters. `queued` lists the
 * stream's unread tasks, then the tasks waiting in the flow waiting room (`waitingForSlot`).
 * @publicApi
 */
export type ListedState = 'queued' | 'delayed' | 'running' | 'dead';

/** Paging of a listing: `cursor` from the previous page, `limit` 1 to 500 (default 50). @publicApi */
export interface PageOptions {
  readonly queue?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** A task in a listing. Fields a hand-written entry lacks are undefined. @publicApi */
export interface ListedTask {
  readonly state: ListedState;
  readonly id: string | undefined;
  readonly name: string | undefined;
  /** The payload as stored (JSON text): shown, never evaluated. */
  readonly payload: string | undefined;
  /**
   * Numbers as stored, where they read as ones (anyone with Redis access can write them): an
   * attempt from 1, a generation from 0 to 2^53-1 (0 when none is stored), else undefined.
   */
  readonly attempt: number | undefined;
  readonly key: string | undefined;
  readonly generation: number | undefined;
  /**
   * Under flow control: its group (undefined for the ungrouped group) and priority (1 to 10, else
   * undefined) when given.
   */
  readonly group?: string;
  readonly priority?: number;
  /**
   * Queued in the flow waiting room: under flow control, waiting for a concurrency slot (not in
   * the stream yet, so no `entryId`). Listed by (task, group), then by rank.
   */
  readonly waitingForSlot?: boolean;
  /** Its stream entry (queued, running; for a dead letter, the entry it had). */
  readonly entryId?: string;
  /**
   * When it entered the stream (queued, running), the flow waiting room (`waitingForSlot`) or the
   * dead letters (dead).
   */
  readonly at?: Date;
  /** When a delayed task is due. */
  readonly dueAt?: Date;
  /** Running: the worker holding it, whether that worker is alive, deliveries so far. */
  readonly worker?: string;
  readonly workerAlive?: boolean;
  readonly deliveries?: number;
  readonly idleMs?: number;
  /** Dead letters: the dead-letter entry id (what redrive and purge take) and why. */
  readonly deadLetterId?: string;
  readonly reason?: string;
  /** The queue partition that holds it (0 on a queue of one partition). */
  readonly partition?: number;
  /** A delayed task's member (what remove() matches on). @internal */
  readonly member?: string;
}

/**
 * What findTask() finds: the task where a listing holds it, and its stored result (JSON text).
 * A retry waiting out its backoff, a redriven task and one moved into admission are `pending`
 * (a later run will settle them, see status()): no result, whatever an earlier run left. Only
 * a task found, and not dead-lettered, is: a marker left by a keyed run cancelled or replaced since
 * gives result null alone.
 * @publicApi
 */
export interface FoundTask {
  readonly task?: ListedTask;
  readonly result: string | null;
  readonly pending?: true;
}

/** One page of a listing; `cursor` is null on the last page. @publicApi */
export interface TaskPage {
  readonly tasks: ListedTask[];
  readonly cursor: string | null;
}

/**
 * A queue's dead letters at one moment (deadLetterBound()): how many, and each partition's newest
 * entry id (partition p at index p; null where it had none). Given back as `upTo` to
 * purgeDeadLetters() or redriveAll(), it limits them to those dead letters: one dead-lettered
 * since, which whoever read the bound never saw, stays. @publicApi
 */
export interface DeadLetterBound {
  readonly count: number;
  readonly upTo: readonly (string | null)[];
}

/** What redriveAll() did: dead letters redriven, and the ones kept with why. @publicApi */
export interface RedriveAllResult {
  readonly redriven: number;
  readonly refused: {
    readonly deadLetterId: string;
    readonly reason: 'not-a-task' | 'key-moved-on' | 'group-limit-elsewhere' | 'cancelled' | 'already-redriven';
  }[];
}
